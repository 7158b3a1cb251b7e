"""The shared vocabularies: one member per text, stored and serialised as the bare text was."""

from __future__ import annotations

import json

from clearwatch.domain.backoffice import accounts
from clearwatch.domain.intraday import conservation
from clearwatch.domain.intraday.lease import LeaseMove
from clearwatch.domain.shared.file_schema import MARKETS, PACKAGE_SPECS
from clearwatch.domain.shared.kinds import CASH, AuditAction, Market, PackageKind, Side
from clearwatch.services.backoffice.run_eod import STEP_ACTION, EodStep
from clearwatch.services.intraday.trading_node import LEASE_ACTION


def test_a_member_is_its_text_in_f_strings_json_and_dict_keys() -> None:
    kind = PackageKind.BANK_DAILY
    assert f"{kind}/x.csv" == "bank_daily/x.csv" and str(kind) == "bank_daily"
    assert json.dumps({"kind": kind, kind: 1}) == '{"kind": "bank_daily", "bank_daily": 1}'
    assert ("K001", "bank_daily") in {("K001", kind)}


def test_every_package_spec_and_market_is_a_member() -> None:
    assert set(PACKAGE_SPECS) == set(PackageKind)
    assert all(spec.kind is PackageKind(name) for name, spec in PACKAGE_SPECS.items())
    assert MARKETS == ("SH", "SZ", "BJ") == tuple(Market)


def test_one_side_and_one_cash_for_every_area() -> None:
    assert (Side.BUY, Side.SELL) == ("B", "S")
    assert accounts.CASH is CASH and conservation.CASH is CASH and CASH == "CASH"


def test_every_end_of_day_step_and_recorded_lease_move_has_its_audit_action() -> None:
    assert set(STEP_ACTION) == set(EodStep)
    assert all(action == f"eod.step.{step}" for step, action in STEP_ACTION.items())
    assert set(LEASE_ACTION) == set(LeaseMove) - {LeaseMove.RENEW}
    assert all(action == f"intraday.lease_{move}" for move, action in LEASE_ACTION.items())
    assert len({a.value for a in AuditAction}) == len(AuditAction)
