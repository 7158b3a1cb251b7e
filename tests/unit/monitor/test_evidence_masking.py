"""Masking the day's document: accounts hidden, transactions and markets kept, nothing changed
in the document given."""

from __future__ import annotations

import copy

from clearwatch.domain.monitor.evidence_masking import masked_day_document


def _finding(code: str, *refs: str) -> dict[str, object]:
    return {"code": code, "evidence": {"largest": [{"ref": ref, "amount": "1.00"} for ref in refs]}}


def test_fund_and_special_accounts_are_masked_and_transactions_and_markets_are_not() -> None:
    document = {
        "business_date": "2026-11-20",
        "institutions": [
            {
                "institution_id": "B001",
                "findings": [
                    _finding("F1", "FA20261120777"),
                    _finding("F2", "A9"),
                    _finding("F4", "T1"),
                    _finding("F6", "6222020000001"),
                    _finding("F7", "SH"),
                ],
            }
        ],
    }
    given = copy.deepcopy(document)
    shown = masked_day_document(document)
    refs = [f["evidence"]["largest"][0]["ref"] for f in shown["institutions"][0]["findings"]]
    assert refs == ["***0777", "***9", "T1", "***0001", "SH"]
    assert document == given  # the stored evidence is never touched
