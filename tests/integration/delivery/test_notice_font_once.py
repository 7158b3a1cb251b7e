"""The notice font parsed once per process renders exactly what a font parsed anew renders.

fpdf2 subsets the font object in place when it writes a PDF: were one parsed copy shared, the
second notice would carry the first one's glyphs (or miss its own). Each notice gets its own
copy, so notices rendered in any order are the bytes a fresh font gives.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from clearwatch.adapters.delivery.notice_documents import NOTICE_FONT_DEFAULT, NoticeDocuments

pytestmark = pytest.mark.skipif(
    not NOTICE_FONT_DEFAULT.is_file(), reason="fonts-noto-cjk is not installed"
)

NOTICE: dict[str, Any] = {
    "approved_at": "2026-11-23T10:00:00+08:00", "title": "预警通知书", "notice": "notice",
    "business_date": "2026-11-20", "institution_id": "B001", "institution_name": "上海证券",
    "institution_kind": "broker", "level": "major", "level_name": "重大预警",
    "criteria": [{"code": "M1", "text": "挪用客户资金并造成缺口"}], "route_to": "CN-SH",
    "cc": "B001", "special_report": True, "problem_amount": "100.00",
    "problem_amount_fen": 10000, "problem_ratio": "0.100000",
    "findings": [{"code": "F3", "type": "FUND_GAP", "amount": "100.00",
                  "evidence": {"items_count": 1, "items": []}}],
    "decisions": [], "reporting_g6": [], "rules_version": "v1", "proposed_by": "analyst",
    "approved_by": "reviewer", "result_version": 1, "delivery_key": "k1", "warning_key": "w1",
    "recipient": "CN-SH",
}  # fmt: skip


def _other_notice() -> dict[str, Any]:
    other = copy.deepcopy(NOTICE)
    other.update(institution_id="K002", institution_name="深圳银行", title="抄送",
                 route_to="CITY-SZ", problem_amount="7,777.77")  # fmt: skip
    return other


def test_notices_rendered_with_the_font_parsed_once_are_the_bytes_of_a_fresh_font() -> None:
    fresh = NoticeDocuments(parse_font_once=False)
    expected = {"one": fresh.pdf(NOTICE), "other": fresh.pdf(_other_notice())}
    assert expected["one"] != expected["other"]
    once = NoticeDocuments()
    for name in ("one", "other", "one", "other", "other", "one"):
        payload = NOTICE if name == "one" else _other_notice()
        assert once.pdf(payload) == expected[name], name
