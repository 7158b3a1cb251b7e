"""Each fault of the catalogue is injected where it lives and carries its expected outcome."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from clearwatch.domain.shared.money import parse_fen
from clearwatch.sim.faults import CATALOGUE, KIND_OF, UnknownFaultError, plan_faults
from tests.unit.sim.conftest import run_small

REQUIRED_CRITERIA = {
    "phantom_funds": {"G3", "A5"},
    "misappropriation": {"M1", "G1", "A1"},
    "fund_gap": {"G1", "A1"},
    "unfiled_account": {"G5"},
    "overdraft": {"G3"},
    "fault_deduction": {"G4"},
    "fault_deduction_bank": {"G4"},
    "reserve_mismatch": {"A2"},
    "account_mismatch": {"A1"},
    "client_mismatch": {"A4"},
    "timing_difference": {"A1", "A4"},
}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def markets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("faults")
    out = {}
    for kind in CATALOGUE:
        out[kind.name] = root / kind.name
        run_small(out[kind.name], faults=kind.name)
    return out


def _faults(market: Path, day: str) -> dict[str, object]:
    return json.loads((market / day / "faults.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _record(market: Path, name: str) -> tuple[str, dict[str, object]]:
    for day in ("2026-11-17", "2026-11-16"):
        for record in _faults(market, day)["faults"]:  # type: ignore[attr-defined]
            if record["fault"] == name:
                return day, record
    raise AssertionError(f"{name} has no record")


@pytest.mark.parametrize("name", [kind.name for kind in CATALOGUE])
def test_every_fault_records_its_expected_level_criteria_and_route(
    markets: dict[str, Path], name: str
) -> None:
    _, record = _record(markets[name], name)
    expected = record["expected"]
    assert isinstance(expected, dict)
    warnings = [w for i in expected["institutions"] for w in i["warnings"]]
    kind = KIND_OF[name]
    if kind.level == "none":
        assert warnings == []
        return
    assert [w["level"] for w in warnings] == [kind.level]
    assert REQUIRED_CRITERIA[name] <= set(warnings[0]["criteria"])
    assert warnings[0]["route_to"] == "CITY-SZ"  # B001's region, and the branch of its accounts
    assert warnings[0]["special_report"] is (kind.level == "major")


def test_the_timing_difference_never_raises_more_than_attention_and_resolves_next_day(
    markets: dict[str, Path],
) -> None:
    market = markets["timing_difference"]
    today = _faults(market, "2026-11-16")["expected"]
    levels = {w["level"] for i in today["institutions"] for w in i["warnings"]}  # type: ignore[index]
    assert levels == {"attention"}
    assert _faults(market, "2026-11-17")["expected"] == {"institutions": [], "reminders": []}
    carried = [
        r
        for r in _rows(market / "2026-11-17/broker/B001/bank/bank_transfers.csv")
        if r["booked_at"].startswith("2026-11-16T16:05")
    ]
    assert [(r["direction"], r["amount"]) for r in carried] == [("in", "500000.00")]
    bank_next_day = _rows(market / "2026-11-17/packages/K001/special_account_transactions.csv")
    assert not [r for r in bank_next_day if r["booked_at"].startswith("2026-11-16")]


def test_duplicate_import_delivers_the_same_trading_batch_four_times(
    markets: dict[str, Path],
) -> None:
    broker = markets["duplicate_import"] / "2026-11-17/broker/B001"
    copies = sorted(p.name for p in broker.iterdir() if p.name.startswith("trading"))
    assert copies == ["trading", "trading.retry1", "trading.retry2", "trading.retry3"]
    manifests = {(broker / c / "manifest.json").read_bytes() for c in copies}
    assert len(manifests) == 1
    deductions = [
        r
        for r in _rows(broker / "trading/cash_adjustments.csv")
        if r["reason"] == "lending_dividend_deduction" and r["amount"].startswith("-")
    ]
    incident = [parse_fen(r["amount"]) for r in deductions if parse_fen(r["amount"]) <= -1_810_000]
    assert len(incident) == 7 and sum(incident) == -27_250_000


def test_phantom_funds_leave_two_clients_overdrawn_by_about_incident_a(
    markets: dict[str, Path],
) -> None:
    funds = _rows(markets["phantom_funds"] / "2026-11-17/expected/B001/client_funds.csv")
    overdrawn = [parse_fen(r["balance"]) for r in funds if r["balance"].startswith("-")]
    assert len(overdrawn) == 2
    assert 5_022_260_000 <= -sum(overdrawn) <= 5_022_260_000 * 101 // 100


def test_misappropriation_is_an_outflow_to_other_the_books_do_not_show(
    markets: dict[str, Path],
) -> None:
    day, record = _record(markets["misappropriation"], "misappropriation")
    injected = record["injected"]
    assert isinstance(injected, dict)
    txns = [
        r
        for k in ("K001", "K002", "K003")
        for r in _rows(
            markets["misappropriation"] / day / "packages" / k / "special_account_transactions.csv"
        )
        if r["counterparty_kind"] == "other"
    ]
    assert [(t["account_no"], t["direction"], t["amount"]) for t in txns] == [
        (injected["account_no"], "out", injected["amount"])
    ]


def test_unfiled_account_is_booked_and_reported_but_never_filed(markets: dict[str, Path]) -> None:
    market = markets["unfiled_account"]
    _, record = _record(market, "unfiled_account")
    account = record["injected"]["account"]  # type: ignore[index]
    filed = {r["account_no"] for r in _rows(market / "registry/special_accounts.csv")}
    books = {
        r["account_no"]
        for r in _rows(market / "2026-11-16/broker/B001/static/special_accounts.csv")
    }
    reported = {
        r["account_no"]
        for k in ("K001", "K002", "K003")
        for r in _rows(market / "2026-11-16/packages" / k / "special_account_balances.csv")
    }
    assert account not in filed and account in books and account in reported


def test_fault_deductions_have_no_legal_basis_and_name_their_initiator(
    markets: dict[str, Path],
) -> None:
    for name, initiator in (("fault_deduction", "broker"), ("fault_deduction_bank", "bank")):
        actions = _rows(markets[name] / "2026-11-17/packages/K001/fund_actions.csv")
        faulty = [a for a in actions if a["legal_basis"] == ""]
        assert [(a["action"], a["initiator"]) for a in faulty] == [("deduct", initiator)]


def test_late_package_is_submitted_after_the_deadline(markets: dict[str, Path]) -> None:
    schedule = json.loads((markets["late_package"] / "2026-11-17/schedule.json").read_text())
    late = [s for s in schedule["submissions"] if s["institution_id"] == "K001"]
    assert [s["submit_at"] for s in late] == ["2026-11-18T10:30:00+08:00"]
    assert schedule["package_deadline_at"] == "2026-11-18T09:00:00+08:00"


def test_broken_package_has_a_file_whose_hash_does_not_match_then_a_good_one(
    markets: dict[str, Path],
) -> None:
    packages = markets["broken_package"] / "2026-11-17/packages"
    manifest = json.loads((packages / "K001.broken/manifest.json").read_text())
    mismatched = [
        f["name"]
        for f in manifest["files"]
        if hashlib.sha256((packages / "K001.broken" / f["name"]).read_bytes()).hexdigest()
        != f["sha256"]
    ]
    assert mismatched == ["client_depository.csv"]
    good = json.loads((packages / "K001/manifest.json").read_text())
    assert all(
        hashlib.sha256((packages / "K001" / f["name"]).read_bytes()).hexdigest() == f["sha256"]
        for f in good["files"]
    )
    schedule = json.loads((markets["broken_package"] / "2026-11-17/schedule.json").read_text())
    assert [s["expect"] for s in schedule["submissions"] if s["institution_id"] == "K001"] == [
        "rejected",
        "accepted",
    ]


def test_reserve_and_account_mismatches_are_exact(markets: dict[str, Path]) -> None:
    for name, code, amount in (
        ("reserve_mismatch", "F7", "386420.15"),
        ("account_mismatch", "F6", "52318.40"),
    ):
        _, record = _record(markets[name], name)
        findings = record["expected"]["institutions"][0]["findings"]  # type: ignore[index]
        assert [(f["code"], f["amount"]) for f in findings] == [(code, amount)]


def test_unknown_faults_and_days_outside_the_run_are_refused() -> None:
    with pytest.raises(UnknownFaultError):
        plan_faults("nonsense", days=1, brokers=1, banks=1)
    with pytest.raises(UnknownFaultError):
        plan_faults("overdraft@3", days=2, brokers=1, banks=1)
    assert plan_faults("overdraft@1,timing_difference", days=3, brokers=2, banks=2)[1].day == 1
