"""End-of-day outputs: statements (交割单), CSDC settlement, reconciliation, broker_daily package.

Every output is derived from the books and the stored execution detail alone, so a re-run
writes the same bytes; only the package manifest's signed audit head is of its moment (a
newer head over the same figures, so the monitor still sees the same content). Each step
returns its files' sha256 under `outputs` (paths relative to the output directory), taken
after the files and their directories are flushed to disk: the step is logged complete only
then, and a re-run writes again what is missing or differs.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from clearwatch.domain.backoffice import accounts as acc
from clearwatch.domain.shared.calendar import BusinessCalendar
from clearwatch.domain.shared.file_schema import ACCOUNT_KINDS, AUDIT_HEAD_FIELD, MARKETS
from clearwatch.domain.shared.kinds import PackageKind
from clearwatch.services.backoffice.books_reference import (
    client_cash_balances,
    current_clients,
    current_special_accounts,
    net_settlement,
    trade_details,
)
from clearwatch.services.backoffice.breaks import BreakState, break_views
from clearwatch.services.backoffice.ports import BackOfficeTools, BackOfficeUnitOfWork
from clearwatch.services.backoffice.reconcile import CHECKS, compare_day, raise_breaks

PACKAGE_FORMAT = "clearwatch.package/1"
PACKAGE_KIND = PackageKind.BROKER_DAILY
PACKAGE_SEQUENCE = 1
hash_read_block_bytes = 1 << 20  # outputs are hashed as read back, a block at a time
OPEN_BREAK_IDS_LISTED = 50  # the step's detail names at most this many open breaks


def write_statements(
    uow: BackOfficeUnitOfWork, tools: BackOfficeTools, broker_id: str, day: date, out: Path
) -> dict[str, Any]:
    with uow:
        uris = trade_details(uow, tools, broker_id, day)
        clients = current_clients(uow, tools, broker_id)
    path = out / "statements" / "statements.csv"
    rows = tools.engine.write_statements(detail_uris=uris, clients=clients, path=path)
    return {"statement_lines": rows, "outputs": settle_outputs(out, [path])}


def write_csdc_settlement(
    uow: BackOfficeUnitOfWork, tools: BackOfficeTools, broker_id: str, day: date, out: Path
) -> dict[str, Any]:
    """Per market: what the day's trades leave due to (+) or from (−) CSDC, paid on D+1."""
    with uow:
        uris = trade_details(uow, tools, broker_id, day)
    summary = tools.engine.settlement_summary(detail_uris=uris)
    settles_on = BusinessCalendar().next_business_day(day).isoformat()
    summary = summary.append_column(
        "settles_on", pa.array([settles_on] * summary.num_rows, pa.string())
    )
    money = ["buy_fen", "sell_fen", "fees_fen", "net_due_fen"]
    table = tools.engine.format_money_table(summary, money)
    table = table.rename_columns([c.removesuffix("_fen") for c in table.column_names])
    sha, rows = tools.engine.write_csv(table, out / "csdc_settlement.csv")
    outputs = settle_outputs(out, [out / "csdc_settlement.csv"])
    return {"markets": rows, "sha256": sha, "outputs": outputs}


def write_reconciliation(
    uow: BackOfficeUnitOfWork,
    tools: BackOfficeTools,
    broker_id: str,
    day: date,
    out: Path,
    at: datetime,
) -> dict[str, Any]:
    """The books against the bank's and CSDC's statements and the trading nodes (spec §6):
    per check a total line (subject `*`), then each difference, which is also a break. The
    step reports every break of the broker still open, whatever its day."""
    with uow:
        compared = compare_day(uow, tools, broker_id, day)
        raised = raise_breaks(uow, broker_id, day, compared, at)
        still_open = [
            view.record.break_pk
            for view in break_views(uow, broker_id=broker_id)
            if view.state is not BreakState.CLOSED and view.record.business_date <= day
        ]
        uow.commit()
    rows: list[tuple[str, str, int, int]] = []
    for result in compared:
        rows.append((result.check, "*", result.books_fen, result.counterpart_fen))
        rows += [
            (result.check, d.subject, d.books_fen, d.counterpart_fen) for d in result.differences
        ]
    table = pa.table(
        {
            "check": pa.array([r[0] for r in rows], pa.string()),
            "subject": pa.array([r[1] for r in rows], pa.string()),
            "books_fen": pa.array([r[2] for r in rows], pa.int64()),
            "counterpart_fen": pa.array([r[3] for r in rows], pa.int64()),
            "difference_fen": pa.array([r[2] - r[3] for r in rows], pa.int64()),
        }
    )
    money = ["books_fen", "counterpart_fen", "difference_fen"]
    formatted = tools.engine.format_money_table(table, money)
    formatted = formatted.rename_columns([c.removesuffix("_fen") for c in formatted.column_names])
    sha, count = tools.engine.write_csv(formatted, out / "reconciliation.csv")
    return {
        "rows": count,
        "compared": {r.check: {"source": r.source, "subjects": r.compared} for r in compared},
        "not_compared": [c for c in CHECKS if c not in {r.check for r in compared}],
        "differences": sum(len(r.differences) for r in compared),
        "breaks_raised": raised,
        "open_breaks": len(still_open),
        "open_break_ids": still_open[:OPEN_BREAK_IDS_LISTED],
        "sha256": sha,
        "outputs": settle_outputs(out, [out / "reconciliation.csv"]),
    }


def _natural(table: pa.Table, prefix: str) -> dict[str, int]:
    return {
        account.removeprefix(prefix): -int(q)
        if acc.account_class(account) in acc.CREDIT_NORMAL
        else int(q)
        for account, q in zip(
            table.column("account").to_pylist(), table.column("quantity").to_pylist(), strict=True
        )
    }


def write_package(
    uow: BackOfficeUnitOfWork, tools: BackOfficeTools, broker_id: str, day: date, out: Path
) -> dict[str, Any]:
    """The monitor's broker_daily package for D; fee income is what the books say."""
    figures = _package_figures(uow, tools, broker_id, day)
    package = out / "package"
    entries = []
    for name, (table, money) in _package_tables(figures).items():
        sha, rows = tools.engine.write_csv(
            tools.engine.format_money_table(table, money), package / name
        )
        entries.append({"name": name, "sha256": sha, "rows": rows})
    manifest = {
        "format": PACKAGE_FORMAT,
        "kind": PACKAGE_KIND,
        "institution_id": broker_id,
        "business_date": day.isoformat(),
        "sequence": PACKAGE_SEQUENCE,
        "encoding": "utf-8",
        "files": entries,
    }
    # Signed last, over the log as it stands: the monitor keeps it as a witness (issue 17).
    head = None if tools.audit_head is None else tools.audit_head()
    if head is not None:
        manifest[AUDIT_HEAD_FIELD] = head.document()
    (package / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    written = [package / str(entry["name"]) for entry in entries] + [package / "manifest.json"]
    outputs = settle_outputs(out, written)
    detail = {"package": str(package), "files": entries, "outputs": outputs}
    if head is not None:
        detail["audit_head"] = {"seq": head.checkpoint.seq, "tree_head": head.checkpoint.tree_head}
    return detail


def settle_outputs(out: Path, paths: list[Path]) -> dict[str, str]:
    """Flush each written file, then its directories up to `out`'s parent, to disk, and
    hash each file as it lies there: {path relative to `out`: sha256}. A crash after the step
    is logged can then never leave a logged output half-written."""
    outputs = {path.relative_to(out).as_posix(): _sha256(path, sync=True) for path in paths}
    directories = {out.parent}
    for path in paths:
        directories.update(p for p in path.parents if p.is_relative_to(out.parent))
    for directory in sorted(directories, key=lambda d: len(d.parts), reverse=True):
        handle = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(handle)  # the directory's entries: a new file or folder survives a crash
        finally:
            os.close(handle)
    return outputs


def outputs_intact(out: Path, outputs: Mapping[str, str]) -> bool:
    """Every recorded output is under `out` with exactly its recorded bytes."""
    for name, sha in outputs.items():
        path = out / name
        if not path.is_file() or _sha256(path, sync=False) != sha:
            return False
    return True


def _sha256(path: Path, *, sync: bool) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(hash_read_block_bytes):
            digest.update(block)
        if sync:
            os.fsync(handle.fileno())
    return digest.hexdigest()


@dataclass(frozen=True)
class _PackageFigures:
    """What the broker_daily package reports, read from the books in one unit of work."""

    clients: pa.Table
    cash: pa.Table
    specials: pa.Table
    special_books: dict[str, int]
    reserve: dict[str, int]
    net_settlement: dict[str, int]  # per market, due from (+) or to (−) CSDC on D+1
    fee_income_to_date: dict[str, int]
    fee_income_before: dict[str, int]


def _package_figures(
    uow: BackOfficeUnitOfWork, tools: BackOfficeTools, broker_id: str, day: date
) -> _PackageFigures:
    def natural(prefix: str, as_of: date = day) -> dict[str, int]:
        return _natural(
            uow.books.balances(broker_id=broker_id, as_of=as_of, account_prefix=prefix), prefix
        )

    with uow:
        return _PackageFigures(
            clients=current_clients(uow, tools, broker_id),
            cash=client_cash_balances(uow, broker_id, day),
            specials=current_special_accounts(uow, tools, broker_id),
            special_books=natural("special:"),
            reserve=natural("reserve:"),
            net_settlement=net_settlement(uow, broker_id, day),
            # Fee income is cumulative in the books; the package reports the day's.
            fee_income_to_date=natural("fee_income:"),
            fee_income_before=natural("fee_income:", day - _ONE_DAY),
        )


def _package_tables(figures: _PackageFigures) -> dict[str, tuple[pa.Table, list[str]]]:
    """Each file of the package with the names of its money columns."""
    numbers = figures.specials.column("account_no").to_pylist()
    books = pa.array([figures.special_books.get(n, 0) for n in numbers], pa.int64())
    reserve = pa.array([figures.reserve.get(m, 0) for m in MARKETS], pa.int64())
    net = pa.array([figures.net_settlement.get(m, 0) for m in MARKETS], pa.int64())
    earned = pa.array(
        [
            figures.fee_income_to_date.get(k, 0) - figures.fee_income_before.get(k, 0)
            for k in ACCOUNT_KINDS
        ],
        pa.int64(),
    )
    return {
        "client_funds.csv": (_client_funds(figures.clients, figures.cash), ["balance"]),
        "special_accounts.csv": (
            figures.specials.append_column("book_balance", books),
            ["book_balance"],
        ),
        "settlement_reserve.csv": (
            pa.table({"market": list(MARKETS), "balance": reserve, "net_settlement": net}),
            ["balance", "net_settlement"],
        ),
        "fee_income.csv": (
            pa.table({"account_kind": list(ACCOUNT_KINDS), "amount": earned}),
            ["amount"],
        ),
    }


def _client_funds(clients: pa.Table, cash: pa.Table) -> pa.Table:
    """Every client with its cash balance (0 when it has none), ordered by fund_account.

    Each client finds its balance by a hash lookup, which keeps the clients' order: no join,
    and no sort either, since the client list comes sorted (checked, and sorted if not).
    """
    found = pc.index_in(clients.column("fund_account"), value_set=cash.column("fund_account"))
    table = pa.table(
        {
            "fund_account": clients.column("fund_account"),
            "client_id": clients.column("client_id"),
            "account_kind": clients.column("account_kind"),
            "bank_id": clients.column("bank_id"),
            "balance": pc.fill_null(cash.column("balance").take(found), 0),
        }
    )
    keys = table.column("fund_account")
    if len(keys) > 1 and not pc.all(pc.less(keys[:-1], keys[1:])).as_py():
        table = table.sort_by("fund_account")
    return table


_ONE_DAY = date(2000, 1, 2) - date(2000, 1, 1)
