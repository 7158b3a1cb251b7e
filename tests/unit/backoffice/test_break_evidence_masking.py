"""A break's evidence as `broker breaks --wide/--json` prints it: wherever it names the break's
client or account, masked like the subject, unless shown as the allowed evidence."""

from __future__ import annotations

from datetime import date

from clearwatch.services.backoffice.breaks import shown_evidence
from clearwatch.services.backoffice.ports import BreakRecord


def _break(check: str, subject: str, evidence: dict[str, object]) -> BreakRecord:
    return BreakRecord(1, "B001", date(2026, 11, 20), check, subject, 0, 0, evidence, "t")


def test_the_evidence_naming_the_client_is_masked_unless_asked_as_evidence() -> None:
    record = _break(
        "execution_on_closed_account",
        "F100001",
        {"rule": "closed_account_must_not_trade", "note": "F100001 sold", "exec_ids": ["E1"]},
    )
    assert shown_evidence(record) == {
        "rule": "closed_account_must_not_trade",
        "note": "***001 sold",
        "exec_ids": ["E1"],
    }
    assert shown_evidence(record, evidence=True) == dict(record.evidence)


def test_a_market_s_break_names_no_client_and_its_evidence_stays() -> None:
    record = _break("reserve_vs_csdc", "SH", {"market": "SH", "line": 3})
    assert shown_evidence(record) == {"market": "SH", "line": 3}
