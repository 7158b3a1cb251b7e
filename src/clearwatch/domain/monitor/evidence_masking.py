"""The day's result as shown to someone who did not ask for the evidence: accounts masked.

A finding's evidence names the largest items behind it. For F1 and F2 the item is a client's
fund account; for F5, F6 and F9 a special account's number. Those are masked by the one rule
(`domain/shared/masking.py`). The other items name no client and no account: F3's account
kind, F4's transaction, F7's market, F8's action. They stay as they are, because they are how
an analyst finds the row in the institution's package.

The stored result is never masked: it is the system of record, and `--evidence` (the policy's
`monitor.evidence`) shows it whole to those allowed to read it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from clearwatch.domain.monitor.findings import FindingCode
from clearwatch.domain.shared.masking import mask

# Findings whose evidence `ref` is a client's fund account or an account number.
ACCOUNT_REF_FINDINGS = frozenset(
    code.value
    for code in (FindingCode.F1, FindingCode.F2, FindingCode.F5, FindingCode.F6, FindingCode.F9)
)


def masked_finding(finding: dict[str, Any]) -> dict[str, Any]:
    """A finding's document (`finding_document`) with the accounts its evidence names masked."""
    if finding.get("code") not in ACCOUNT_REF_FINDINGS:
        return finding
    shown = copy.deepcopy(finding)
    for item in shown.get("evidence", {}).get("largest", []):
        item["ref"] = mask(str(item["ref"]))
    return shown


def masked_day_document(document: dict[str, Any]) -> dict[str, Any]:
    """The day's result document (`day_document`) with every finding's accounts masked; the
    document given is left as it is."""
    shown = dict(document)
    shown["institutions"] = [
        {**institution, "findings": [masked_finding(f) for f in institution.get("findings", [])]}
        for institution in document.get("institutions", [])
    ]
    return shown


def masked_notice_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """A delivered notice's body (a warning with its findings) with the accounts its findings
    name masked: an inbox is read by bureaus, institutions and CSRC, who read no evidence."""
    shown = dict(body)
    if isinstance(shown.get("findings"), list):
        shown["findings"] = [masked_finding(f) for f in shown["findings"]]
    return shown
