"""Who may submit or supersede a package (spec platform §3): the forged-superseding case.

A K001 package with sequence 2 that removes an outflow was accepted from any shell before
identities existed, and B001's major warning vanished on the next run. Now only K001's officer,
with a reason, supersedes; anyone else is denied, the denial is audited and nothing is stored.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clearwatch.bootstrap import Application
from clearwatch.domain.access.roles import Role
from clearwatch.domain.monitor.receipt import ReceiptStatus
from clearwatch.domain.shared.errors import Refused
from clearwatch.services.monitor.submit_package import submit_package
from tests.support.identities import gate_of
from tests.support.packages import write_package

DAY = "2026-11-20"


def _k001(tmp_path: Path, name: str, sequence: int) -> Path:
    """K001's bank package; the later sequence reports a client balance the first did not."""
    rows = "" if sequence == 1 else "B001,FA1,C1,100.00\n"
    files = {"client_depository.csv": "broker_id,fund_account,client_id,balance\n" + rows}
    return write_package(tmp_path / name, "bank_daily", "K001", DAY, files, sequence=sequence)


def _counts(app: Application) -> tuple[int, int]:
    with app.read_uow() as uow:
        return len(uow.packages.receipts()), len(uow.reporting.occurrences())


def _denials(app: Application) -> list[tuple[str, str]]:
    with app.read_uow() as uow:
        records = uow.audit.latest(limit=50)
    return [
        (r.actor, json.loads(r.payload_json)["rule"])
        for r in records
        if r.action == "access.denied"
    ]


def test_only_the_institutions_officer_with_a_reason_supersedes(
    registered: Application, tmp_path: Path
) -> None:
    context = registered.submit_context()
    first = submit_package(
        directory=str(_k001(tmp_path, "p1", 1)),
        context=context,
        gate=gate_of(registered, "K001", Role.SUBMITTER),
    )
    assert first.status is ReceiptStatus.ACCEPTED
    forged = _k001(tmp_path, "p2", 2)
    before = _counts(registered)
    attempts = [
        (
            gate_of(registered, "K001", Role.SUBMITTER),
            "figures corrected",
            "policy_must_allow_action",
        ),
        (
            gate_of(registered, "B001", Role.OFFICER),
            "figures corrected",
            "policy_must_allow_action",
        ),
        (
            gate_of(registered, "SIPF", Role.ANALYST),
            "figures corrected",
            "policy_must_allow_action",
        ),
        (gate_of(registered, "K001", Role.OFFICER), None, "reason_must_be_given"),
    ]
    for gate, reason, rule in attempts:
        with pytest.raises(Refused) as refused:
            submit_package(directory=str(forged), context=context, gate=gate, reason=reason)
        assert refused.value.rule == rule
    assert _counts(registered) == before  # no receipt, no rejection, no BATCH_ERROR for K001
    assert [rule for _, rule in _denials(registered)] == [rule for *_, rule in attempts]
    officer = gate_of(registered, "K001", Role.OFFICER)
    accepted = submit_package(
        directory=str(forged), context=context, gate=officer, reason="figures corrected"
    )
    assert accepted.status is ReceiptStatus.ACCEPTED


def test_a_package_of_another_institution_is_denied_before_anything_is_read(
    registered: Application, tmp_path: Path
) -> None:
    before = _counts(registered)
    with pytest.raises(Refused) as refused:
        submit_package(
            directory=str(_k001(tmp_path, "p1", 1)),
            context=registered.submit_context(),
            gate=gate_of(registered, "B001", Role.SUBMITTER),
        )
    assert refused.value.rule == "policy_must_allow_action"
    assert _counts(registered) == before
    assert _denials(registered) == [("b001-submitter", "policy_must_allow_action")]
