"""The catalogues cover every label, and amounts and times read as the spec says."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from babel.messages.extract import extract_from_dir

from clearwatch.domain.access.callers import TokenScope
from clearwatch.domain.monitor.cases import CaseStatus, ExplanationCategory
from clearwatch.domain.monitor.cases_notice import NoticeKind
from clearwatch.domain.monitor.criteria import Level
from clearwatch.domain.monitor.filings import FilingKind, FilingStatus
from clearwatch.domain.monitor.receipt import ReceiptStatus
from clearwatch.domain.shared.kinds import PackageKind
from clearwatch.entrypoints.web import i18n
from clearwatch.entrypoints.web.i18n import Language, Speaker, load_catalogues
from clearwatch.entrypoints.web.pages_review import DECISIONS
from clearwatch.services.monitor.submission_grid import Submission

WEB = Path(i18n.__file__).parent


def _labels() -> set[str]:
    found = {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(WEB / "templates"), method_map=[("**.j2", "jinja2")], keywords={"_": None}
        )
    }
    found.add("Beijing time")
    found |= {f"status:{s.value}" for s in Submission}
    found |= {f"level:{level.value}" for level in Level}
    found |= {f"kind:{kind.value}" for kind in PackageKind}
    found |= {f"receipt:{status}" for status in (*ReceiptStatus, "superseded")}
    found |= {f"case:{status.value}" for status in CaseStatus}
    found |= {f"category:{category.value}" for category in ExplanationCategory}
    found |= {f"decision:{move.value}" for move in DECISIONS}
    found |= {f"filing:{kind.value}" for kind in FilingKind}
    found |= {f"filing-status:{status.value}" for status in FilingStatus}
    found |= {f"notice:{kind.value}" for kind in NoticeKind}
    found |= {f"scope:{scope.value}" for scope in TokenScope}
    return {label for label in found if isinstance(label, str)}


def test_every_label_has_a_chinese_translation() -> None:
    chinese = load_catalogues()[Language.ZH]
    labels = _labels()
    assert len(labels) > 60
    assert sorted(labels - set(chinese)) == []


def test_domain_terms_are_shown_in_both_languages() -> None:
    catalogues = load_catalogues()
    assert catalogues[Language.ZH]["level:major"] == "重大预警 / major"
    assert catalogues[Language.EN]["level:major"] == "major (重大预警)"
    # Every coded label has an English text too: its key is never what a reader sees.
    coded = {label for label in _labels() if ":" in label and " " not in label}
    assert sorted(coded - set(catalogues[Language.EN])) == []


def test_amounts_have_separators_and_two_decimals_exactly() -> None:
    chinese = Speaker(Language.ZH, {})
    assert chinese.amount(123_456_789_01) == "123,456,789.01"
    assert chinese.amount(-50) == "-0.50" and chinese.amount(0) == "0.00"
    assert chinese.amount(2**63 - 1) == "92,233,720,368,547,758.07"  # no float on the way
    assert chinese.percent(Decimal("0.095589")) == "9.5589 %"


def test_a_finding_s_figure_is_shown_as_an_amount_or_a_count_with_separators() -> None:
    chinese = Speaker(Language.ZH, {})
    assert chinese.figure("1950000.00") == "1,950,000.00"  # the document's yuan text
    assert chinese.figure("-0.01") == "-0.01"
    assert chinese.figure("12345") == "12,345"  # F9: a count of accounts
    assert chinese.figure("n/a") == "n/a"  # nothing else is made up


def test_times_are_shown_in_asia_shanghai() -> None:
    english = Speaker(Language.EN, load_catalogues()[Language.EN])
    moment = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)
    assert english.time(moment) == "2026-11-21 00:30 Beijing time"
    assert Speaker(Language.ZH, load_catalogues()[Language.ZH]).time(moment).endswith("北京时间")
