"""F3 with net settlement (monitoring.md v2): clean days on which brokers' clients net sell
and net buy, through the back office and the monitor, warn no one at general or major."""

from __future__ import annotations

from pathlib import Path

from clearwatch.domain.shared.money import parse_fen
from tests.scenarios.market import csv_rows, run_market

DAYS = 10


def test_ten_clean_days_of_net_selling_and_net_buying_give_no_general_or_major_warning(
    tmp_path: Path,
) -> None:
    run = run_market(tmp_path, days=DAYS, seed=16, size={"brokers": 3, "banks": 3})
    assert run.log.eod_refused == []
    signs: set[int] = set()
    for day in run.dates:
        csdc = run.market / day / "packages" / "CSDC" / "settlement_reserve.csv"
        per_broker: dict[str, int] = {}
        for row in csv_rows(csdc):
            net = parse_fen(row["net_settlement"])
            per_broker[row["broker_id"]] = per_broker.get(row["broker_id"], 0) + net
        signs.update((net > 0) - (net < 0) for net in per_broker.values())
        document = run.monitor(day).document
        for institution in document["institutions"]:
            levels = {w["level"] for w in institution["warnings"]}
            assert not levels & {"general", "major"}, (day, institution["institution_id"])
            assert not [f for f in institution["findings"] if f["code"] in ("F3", "F7")], day
    assert {1, -1} <= signs, "the days hold both net selling and net buying"
