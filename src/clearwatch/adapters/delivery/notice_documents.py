"""The notice as documents: a PDF in Chinese (fpdf2, a Noto CJK font) and an Excel workbook.

Same payload, same bytes: the PDF's dates are the approval's, and the workbook's properties
and zip entries carry fixed times, so rendering again never makes a different document.
The font is Debian's `fonts-noto-cjk` (CFF outlines in a TrueType collection: fpdf2 embeds
them, subset; ReportLab cannot), the simplified-Chinese face of the collection.

Parsing that face took about a third of each notice's time, so it is parsed once per process
(`_FontTemplate`): each document gets a fresh copy of the parsed font (fpdf2 subsets the font
object in place when it writes the PDF, so a copy can never carry one notice's glyphs into the
next), and renders exactly the bytes a font added anew would.
"""

from __future__ import annotations

import copy
import io
import json
import pickle
import re
import threading
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clearwatch.domain.shared.errors import ConfigurationError
from clearwatch.domain.shared.money import parse_fen

if TYPE_CHECKING:
    from fpdf import FPDF
    from fpdf.fonts import TTFFont

NOTICE_FONT_DEFAULT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
NOTICE_FONT_FACE = 2  # the collection's faces: JP, KR, SC, TC, HK; SC is simplified Chinese
FONT_NAME = "notocjk"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip entry can say: the same for every file
CORE_PROPERTIES = "docProps/core.xml"
_PROPERTY_TIME = re.compile(r"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")
page_margin_mm = 18
COUNT_FINDINGS = ("F9",)  # a count of accounts, not an amount

RECIPIENT_LABEL = {
    "notice": "{route_to} 证监局",
    "copy": "{institution_name}",
    "special_report": "中国证监会",
}


@dataclass(frozen=True)
class _FontTemplate:
    """The notice font as fpdf2 parsed it once: its metrics, and the parsed tables pickled."""

    parsed: TTFFont
    tables: bytes  # the fontTools TTFont, pickled: each document unpickles its own copy

    def add_to(self, pdf: FPDF) -> None:
        """Add a fresh copy to `pdf`, as `pdf.add_font` would have (the first font added)."""
        from fpdf.fonts import SubsetMap

        font = copy.copy(self.parsed)
        font.ttfont = pickle.loads(self.tables)
        font.cw = copy.copy(self.parsed.cw)
        font.missing_glyphs = []
        font.biggest_size_pt = 0
        font.subset = SubsetMap(font)
        pdf.fonts[FONT_NAME] = font
        if font.is_cff and font.is_cid_keyed:
            pdf._set_min_pdf_version("1.6")  # what `add_font` does for such a font


_templates: dict[Path, _FontTemplate] = {}
_templates_lock = threading.Lock()


def _template_of(font: Path) -> _FontTemplate:
    with _templates_lock:
        if font not in _templates:
            from fpdf import FPDF

            parsing = FPDF(format="A4")
            parsing.add_font(FONT_NAME, fname=str(font), collection_font_number=NOTICE_FONT_FACE)
            from fpdf.fonts import TTFFont

            parsed = parsing.fonts[FONT_NAME]
            if not isinstance(parsed, TTFFont):  # a font file always is: a bug otherwise
                raise TypeError(f"{font} was not read as a TrueType/OpenType font")
            tables = pickle.dumps(parsed.ttfont, protocol=pickle.HIGHEST_PROTOCOL)
            _templates[font] = _FontTemplate(parsed, tables)
        return _templates[font]


class NoticeDocuments:
    """Renders a delivery's payload as PDF and workbook; the font is checked on first use.

    `parse_font_once` False parses the font for every PDF, as fpdf2 does by itself (the
    reference the cached way is tested against)."""

    def __init__(self, font: Path = NOTICE_FONT_DEFAULT, *, parse_font_once: bool = True) -> None:
        self._font = font
        self._parse_font_once = parse_font_once

    def _check_font(self) -> None:
        if not self._font.is_file():
            raise ConfigurationError(
                f"the notice font {self._font} is missing: apt-get install fonts-noto-cjk "
                "(or set CLEARWATCH_NOTICE_FONT)"
            )

    def pdf(self, payload: Mapping[str, Any]) -> bytes:
        from fpdf import FPDF

        self._check_font()
        pdf = FPDF(format="A4")
        pdf.set_creation_date(datetime.fromisoformat(str(payload["approved_at"])))
        pdf.set_title(str(payload["title"]))
        pdf.set_author("交易结算资金监控系统")
        pdf.set_margins(page_margin_mm, page_margin_mm)
        if self._parse_font_once:
            _template_of(self._font).add_to(pdf)
        else:
            pdf.add_font(FONT_NAME, fname=str(self._font), collection_font_number=NOTICE_FONT_FACE)
        pdf.add_page()
        pdf.set_font(FONT_NAME, size=20)
        pdf.cell(0, 14, str(payload["title"]), align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT_NAME, size=11)
        for line in notice_lines(payload):
            pdf.multi_cell(0, 7, line, new_x="LMARGIN", new_y="NEXT")
        return bytes(pdf.output())

    def workbook(self, payload: Mapping[str, Any]) -> bytes:
        from openpyxl import Workbook

        book = Workbook()
        summary = book.active
        assert summary is not None  # a new workbook has its first sheet
        summary.title = "预警"
        for label, value in summary_rows(payload):
            summary.append([label, value])
        findings = book.create_sheet("发现")
        findings.append(["code", "type", "amount", "amount_fen", "items_count"])
        evidence = book.create_sheet("证据")
        evidence.append(["code", "ref", "amount", "amount_fen", "detail"])
        for finding in payload.get("findings", []):
            findings.append(finding_row(finding))
            for item in finding["evidence"].get("largest", []):
                evidence.append(evidence_row(finding["code"], item))
        buffer = io.BytesIO()
        book.save(buffer)
        approved = datetime.fromisoformat(str(payload["approved_at"])).astimezone(UTC)
        return _fixed_times(buffer.getvalue(), approved.strftime("%Y-%m-%dT%H:%M:%SZ"))


def _fixed_times(data: bytes, stamp: str) -> bytes:
    """The same workbook dated by its approval: openpyxl stamps the properties' created and
    modified times and every zip entry with the moment it saves."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == CORE_PROPERTIES:
                content = _PROPERTY_TIME.sub(rf"\g<1>{stamp}\g<2>", content.decode()).encode()
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            target.writestr(fixed, content, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _amount_fen(code: str, amount: str) -> int | None:
    return None if code in COUNT_FINDINGS else parse_fen(amount)


def finding_row(finding: Mapping[str, Any]) -> list[Any]:
    code = str(finding["code"])
    amount = str(finding["amount"])
    return [
        code,
        finding["type"],
        amount,
        _amount_fen(code, amount),
        int(finding["evidence"]["items_count"]),
    ]


def evidence_row(code: str, item: Mapping[str, Any]) -> list[Any]:
    amount = item.get("amount")
    detail = {k: v for k, v in item.items() if k not in ("ref", "amount")}
    return [
        code,
        item["ref"],
        amount,
        None if amount is None else _amount_fen(code, str(amount)),
        json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else "",
    ]


def summary_rows(payload: Mapping[str, Any]) -> list[tuple[str, Any]]:
    return [
        ("文书", payload["title"]),
        ("编号", payload["warning_key"][:16]),
        ("机构", f"{payload['institution_name']}（{payload['institution_id']}）"),
        ("业务日期", payload["business_date"]),
        ("预警级别", f"{payload['level_name']}（{payload['level']}）"),
        ("触发标准", " ".join(c["code"] for c in payload["criteria"])),
        ("问题金额（元）", payload["problem_amount"]),
        ("问题金额（分）", payload["problem_amount_fen"]),
        ("报送监管局", payload["route_to"]),
        ("抄送", payload["cc"]),
        ("专项报告", "是" if payload["special_report"] else "否"),
        ("批准人", payload["approved_by"]),
        ("批准时间", payload["approved_at"]),
    ]


def notice_lines(payload: Mapping[str, Any]) -> list[str]:
    """The notice's text, line by line: what `pdftotext` reads back."""
    to = RECIPIENT_LABEL[str(payload["notice"])].format(**payload)
    lines = [
        f"编号：{payload['warning_key'][:16]}",
        f"致：{to}",
        f"机构：{payload['institution_name']}（{payload['institution_id']}）",
        f"业务日期：{payload['business_date']}（结果版本 {payload['result_version']}）",
        f"预警级别：{payload['level_name']}（{payload['level']}）",
        "触发标准：",
        *(f"  {c['code']}  {c['text']}" for c in payload["criteria"]),
        f"问题金额：{payload['problem_amount']} 元",
        f"问题比例：{payload.get('problem_ratio') or '-'}",
        f"报送监管局：{payload['route_to']}",
        f"抄送：{payload['cc']}",
        f"专项报告：{'是' if payload['special_report'] else '否'}",
        "发现：",
        *(
            f"  {f['code']} {f['type']}  {f['amount']}（{f['evidence']['items_count']} 项）"
            for f in payload.get("findings", [])
        ),
    ]
    decisions = payload.get("decisions", [])
    if decisions:
        lines += ["复核决定：", *(f"  {code}  {reference}" for code, reference in decisions)]
    lines.append(f"提议：{payload['proposed_by']}  批准：{payload['approved_by']}")
    lines.append(f"批准时间：{payload['approved_at']}")
    return lines
