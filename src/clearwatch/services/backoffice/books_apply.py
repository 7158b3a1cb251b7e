"""Apply one validated batch file to the books: one keyed entry per event, balanced per asset."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa

from clearwatch.domain.access.approvals import AccessRefused, AccessRejection
from clearwatch.domain.backoffice import accounts as acc
from clearwatch.domain.backoffice.account_status import transfer_refusal
from clearwatch.domain.backoffice.approval_content import adjustment_content, transfer_content
from clearwatch.domain.backoffice.batch_manifest import (
    BatchError,
    BatchManifest,
    BatchRejected,
    Rule,
)
from clearwatch.domain.backoffice.fees import exact_ratio
from clearwatch.domain.backoffice.journal import (
    EntryKind,
    JournalEntry,
    Posting,
    Source,
    balanced_entry,
)
from clearwatch.domain.shared.file_schema import PURPOSE_OF_ACCOUNT_KIND
from clearwatch.domain.shared.masking import mask
from clearwatch.domain.watch.flow_halts import halt_stopping
from clearwatch.services.access.approvals import approved_content_for
from clearwatch.services.backoffice.account_status import AccountStanding, account_standing
from clearwatch.services.backoffice.advances import Advance, post_advances, shortfalls
from clearwatch.services.backoffice.books_reference import (
    client_cash_balances,
    current_clients,
    current_special_accounts,
    sellable_shares,
)
from clearwatch.services.backoffice.ports import BackOfficeTools, BackOfficeUnitOfWork
from clearwatch.services.backoffice.status_breaks import raise_status_breaks

COMMISSION_RATE_DENOMINATOR = 10**8


@dataclass
class ApplyContext:
    """What applying a batch's files shares; counts what it did."""

    uow: BackOfficeUnitOfWork
    tools: BackOfficeTools
    manifest: BatchManifest
    at: datetime
    records_skipped: int = 0
    entries_posted: int = 0
    advances: list[Advance] = field(default_factory=list)  # 垫付 posted for overdrawn clients
    _clients: pa.Table | None = field(default=None, repr=False)
    _specials: dict[tuple[str, str], str] | None = field(default=None, repr=False)
    _standing: AccountStanding | None = field(default=None, repr=False)

    @property
    def broker_id(self) -> str:
        return self.manifest.broker_id

    def standing(self) -> AccountStanding:
        """Statuses and amount freezes (read once per batch: approvals change them, not files
        of the same batch after clients.csv, which `apply_file` reads first)."""
        if self._standing is None:
            self._standing = account_standing(self.uow, self.tools, self.broker_id)
        return self._standing

    def clients(self) -> pa.Table:
        if self._clients is None:
            self._clients = current_clients(self.uow, self.tools, self.broker_id)
        return self._clients

    def source(self, file_sha256: str, **extra: object) -> Source:
        return Source(batch_ref=self.manifest.batch_ref, file_sha256=file_sha256, **extra)  # type: ignore[arg-type]


def apply_file(context: ApplyContext, name: str, table: pa.Table, sha: str, digest: str) -> None:
    match name:
        case "clients.csv":
            _check_clients(context, table)
            context._clients = None  # the next reader sees the new clients
            context._standing = None
        case "special_accounts.csv":
            context._specials = None  # reference data: the stored file is the record
        case "opening.csv":
            _apply_opening(context, table, sha, digest)
        case "executions.csv":
            _apply_executions(context, table, sha)
        case "cash_adjustments.csv":
            _apply_adjustments(context, table, sha)
        case "bank_transfers.csv":
            _apply_transfers(context, table, sha)
        case _:
            raise AssertionError(f"no rule applies {name}")


def _reject(rule: Rule, file: str, line: int | None, column: str, detail: str) -> BatchRejected:
    return BatchRejected((BatchError(rule, file, line, column, detail),))


def _check_clients(context: ApplyContext, table: pa.Table) -> None:
    schedule = context.tools.schedule
    numerator, denominator = exact_ratio(schedule.commission_rate_max)
    line = context.tools.engine.first_rate_above(
        clients=table,
        numerator_max=numerator * COMMISSION_RATE_DENOMINATOR // denominator,
        default_rate_text=str(schedule.commission_rate_default),
    )
    if line is not None:
        raise _reject(
            Rule.COMMISSION_RATE_MUST_BE_ALLOWED,
            "clients.csv",
            line,
            "commission_rate",
            f"at most {schedule.commission_rate_max}",
        )


def _apply_opening(context: ApplyContext, table: pa.Table, sha: str, digest: str) -> None:
    books = context.uow.books
    key = f"opening:{context.broker_id}"
    if books.has_entry(key):
        raise _reject(Rule.OPENING_ONLY_ON_FIRST_DAY, "opening.csv", None, "", key)
    specials = current_special_accounts(context.uow, context.tools, context.broker_id)
    postings, bad_line, difference = context.tools.engine.plan_opening(
        opening=table, clients=context.clients(), special_accounts=specials
    )
    if bad_line is not None:
        raise _reject(Rule.ACCOUNT_MUST_BE_KNOWN, "opening.csv", bad_line, "account", "")
    if difference != 0:
        raise _reject(
            Rule.OPENING_CASH_MUST_BALANCE,
            "opening.csv",
            None,
            "quantity",
            f"client cash − special accounts − reserves = {difference} fen",
        )
    entry = JournalEntry(
        broker_id=context.broker_id,
        business_date=context.manifest.business_date,
        kind=EntryKind.OPENING,
        idempotency_key=key,
        source=context.source(sha, detail_digest=digest),
        postings=(),
        memo="opening balances",
    )
    books.post_bulk(entry, postings, recorded_at=context.at)
    context.entries_posted += 1


def _apply_executions(context: ApplyContext, table: pa.Table, sha: str) -> None:
    uow, tools, day = context.uow, context.tools, context.manifest.business_date
    fresh = _fresh_executions(context, table)
    if fresh.num_rows == 0:
        return
    _refuse_oversold(context, fresh)
    cleared = tools.engine.clear_trades(
        executions=fresh, clients=context.clients(), schedule=tools.schedule
    )
    # The exchange filled these: an overdraft is booked and covered by an advance (spec §3).
    advances = shortfalls(
        uow,
        tools,
        broker_id=context.broker_id,
        day=day,
        changes=cleared.client_cash,
        executions=fresh,
    )
    detail_digest = tools.store.put_table(cleared.detail)
    entry = JournalEntry(
        broker_id=context.broker_id,
        business_date=day,
        kind=EntryKind.TRADE_SETTLEMENT,
        idempotency_key=f"trades:{context.broker_id}:{day}:{context.manifest.batch_id}",
        source=context.source(
            sha,
            detail_digest=detail_digest,
            record_first=cleared.exec_id_first,
            record_last=cleared.exec_id_last,
        ),
        postings=(),
        memo=f"{fresh.num_rows} executions netted per client and security",
    )
    uow.books.post_bulk(
        entry,
        _trade_postings(cleared.client_cash, cleared.holdings, cleared.counters, cleared.custody),
        recorded_at=context.at,
    )
    context.entries_posted += 1
    _book_advances(context, advances)
    raise_status_breaks(
        uow,
        broker_id=context.broker_id,
        day=day,
        batch_ref=context.manifest.batch_ref,
        executions=fresh,
        standing=context.standing(),
        at=context.at,
    )


def _fresh_executions(context: ApplyContext, table: pa.Table) -> pa.Table:
    """The file's executions of known clients that no earlier file of the day applied."""
    uow, tools, day = context.uow, context.tools, context.manifest.business_date
    line = tools.engine.first_unknown_account(rows=table, clients=context.clients())
    if line is not None:
        raise _reject(Rule.ACCOUNT_MUST_BE_KNOWN, "executions.csv", line, "fund_account", "")
    earlier = [
        tools.store.uri(f.parquet_digest)
        for f in uow.batches.applied_files(context.broker_id, "executions.csv", business_date=day)
        if f.batch_ref != context.manifest.batch_ref
    ]
    fresh = tools.engine.new_executions(executions=table, previous_uris=earlier)
    context.records_skipped += table.num_rows - fresh.num_rows
    return fresh


def _refuse_oversold(context: ApplyContext, fresh: pa.Table) -> None:
    uow, tools, day = context.uow, context.tools, context.manifest.business_date
    sellable = sellable_shares(uow, tools, context.broker_id, day)
    oversold = tools.engine.oversold(executions=fresh, sellable=sellable)
    if oversold.num_rows:
        first = oversold.slice(0, 1).to_pylist()[0]
        raise _reject(
            Rule.SELL_MUST_NOT_EXCEED_SELLABLE,
            "executions.csv",
            int(first["line"]),
            "quantity",
            f"{first['fund_account']} sells {first['sold']} of {first['asset']}, "
            f"sellable {first['sellable']} (today's buys settle for sale on D+1)",
        )


def _book_advances(context: ApplyContext, advances: list[Advance]) -> None:
    if not advances:
        return
    post_advances(
        context.uow,
        broker_id=context.broker_id,
        day=context.manifest.business_date,
        batch_id=context.manifest.batch_id,
        batch_ref=context.manifest.batch_ref,
        advances=advances,
        at=context.at,
    )
    context.entries_posted += 1
    context.advances.extend(advances)


def _trade_postings(
    client_cash: pa.Table, holdings: pa.Table, counters: pa.Table, custody: pa.Table
) -> pa.Table:
    """Client cash and holdings are credit-normal: a client's gain is a negative posting."""
    import pyarrow.compute as pc

    def client_accounts(column: pa.ChunkedArray) -> pa.ChunkedArray:
        return pc.binary_join_element_wise("client:", column, "")

    parts = [
        pa.table(
            {
                "account": client_accounts(client_cash.column("fund_account")),
                "asset": pa.array([acc.CASH] * client_cash.num_rows, pa.string()),
                "quantity": pc.negate(client_cash.column("cash_fen")),
            }
        ),
        pa.table(
            {
                "account": client_accounts(holdings.column("fund_account")),
                "asset": holdings.column("asset"),
                "quantity": pc.negate(holdings.column("quantity")),
            }
        ),
        pa.table(
            {
                "account": counters.column("account"),
                "asset": pa.array([acc.CASH] * counters.num_rows, pa.string()),
                "quantity": counters.column("quantity"),
            }
        ),
        pa.table(
            {
                "account": pc.binary_join_element_wise("custody:", custody.column("market"), ""),
                "asset": custody.column("asset"),
                "quantity": custody.column("quantity"),
            }
        ),
    ]
    # Balanced per asset, or the netting has a bug: `post_bulk` refuses it then.
    return pa.concat_tables([p.cast(_POSTINGS_SCHEMA) for p in parts])


_POSTINGS_SCHEMA = pa.schema(
    [("account", pa.string()), ("asset", pa.string()), ("quantity", pa.int64())]
)


def _client_index(context: ApplyContext) -> dict[str, tuple[str, str]]:
    clients = context.clients()
    return dict(
        zip(
            clients.column("fund_account").to_pylist(),
            zip(
                clients.column("account_kind").to_pylist(),
                clients.column("bank_id").to_pylist(),
                strict=True,
            ),
            strict=True,
        )
    )


def _special_for(context: ApplyContext, bank_id: str, account_kind: str) -> str | None:
    """The special account of a bank for an account kind's purpose (the lowest number)."""
    if context._specials is None:
        specials = current_special_accounts(context.uow, context.tools, context.broker_id)
        found: dict[tuple[str, str], str] = {}
        for no, bank, purpose in sorted(
            zip(
                specials.column("account_no").to_pylist(),
                specials.column("bank_id").to_pylist(),
                specials.column("purpose").to_pylist(),
                strict=True,
            )
        ):
            found.setdefault((bank, purpose), no)
        context._specials = found
    return context._specials.get((bank_id, PURPOSE_OF_ACCOUNT_KIND[account_kind]))


def _require_approval(
    context: ApplyContext,
    kind: str,
    subject_ref: str,
    content: dict[str, Any],
    rule: Rule,
    where: tuple[str, int, str],
) -> None:
    """Spec §5: a second person must have approved exactly this record (双人复核) before it
    applies: an approval of other content (another amount, account or bank) is refused."""
    if context.uow.books.applied_keys(context.broker_id, where[0], [subject_ref.split(":")[-1]]):
        return  # already applied once, its approval checked then; the record is skipped
    try:
        approved_content_for(context.uow, kind=kind, subject_ref=subject_ref, content=content)
    except AccessRefused as refused:
        if refused.rejection is AccessRejection.APPROVAL_MUST_MATCH_CONTENT:
            rule = Rule.APPROVAL_MUST_MATCH_CONTENT
        raise _reject(rule, where[0], where[1], where[2], str(refused)) from None


def _apply_records(
    context: ApplyContext,
    role: str,
    rows: Sequence[dict[str, object]],
    entries: Sequence[JournalEntry],
    keys: Sequence[str],
) -> None:
    books = context.uow.books
    done = books.applied_keys(context.broker_id, role, keys)
    fresh_entries: list[JournalEntry] = []
    fresh_keys: list[str] = []
    for key, entry in zip(keys, entries, strict=True):
        if key in done:
            context.records_skipped += 1
            continue
        fresh_entries.append(balanced_entry(entry))
        fresh_keys.append(key)
    # One round of statements for the whole file: a bank day is ~1,000 transfers per broker.
    books.post_records(fresh_entries, role=role, keys=fresh_keys, recorded_at=context.at)
    context.entries_posted += len(fresh_entries)


def _apply_adjustments(context: ApplyContext, table: pa.Table, sha: str) -> None:
    rows = table.to_pylist()
    index = _client_index(context)
    entries: list[JournalEntry] = []
    for row in rows:
        fund_account = str(row["fund_account"])
        if fund_account not in index:
            raise _reject(
                Rule.ACCOUNT_MUST_BE_KNOWN,
                "cash_adjustments.csv",
                int(row["line"]),
                "fund_account",
                mask(fund_account),  # masked in a refusal: the line says which row
            )
        kind, bank = index[fund_account]
        reason = str(row["reason"])
        amount = int(row["amount"])
        if reason == "fee_refund":
            counter = acc.fee_income(kind)
        elif reason == "manual":
            _require_approval(
                context,
                "manual_adjustment",
                f"adjustment:{context.broker_id}:{row['adjustment_id']}",
                adjustment_content(fund_account=fund_account, amount_fen=amount, reason=reason),
                Rule.MANUAL_ADJUSTMENT_MUST_BE_APPROVED,
                ("cash_adjustments.csv", int(row["line"]), "reason"),
            )
            counter = acc.OWN_FUNDS
        else:
            special = _special_for(context, bank, kind)
            if special is None:
                raise _reject(
                    Rule.SPECIAL_ACCOUNT_MUST_EXIST,
                    "cash_adjustments.csv",
                    int(row["line"]),
                    "fund_account",
                    f"{bank}/{kind}",
                )
            counter = acc.special(special)
        entries.append(
            JournalEntry(
                broker_id=context.broker_id,
                business_date=context.manifest.business_date,
                kind=EntryKind.CASH_ADJUSTMENT,
                idempotency_key=f"adjustment:{context.broker_id}:{row['adjustment_id']}",
                source=context.source(sha, line=int(row["line"])),
                postings=(
                    Posting(acc.client(fund_account), acc.CASH, -amount),
                    Posting(counter, acc.CASH, amount),
                ),
                memo=reason,
            )
        )
    keys = [str(row["adjustment_id"]) for row in rows]
    _refuse_record_overdraft(
        context, "cash_adjustments.csv", rows, keys, [int(str(row["amount"])) for row in rows]
    )
    _apply_records(context, "cash_adjustments.csv", rows, entries, keys)


def _apply_transfers(context: ApplyContext, table: pa.Table, sha: str) -> None:
    rows = table.to_pylist()
    index = _client_index(context)
    entries: list[JournalEntry] = []
    changes: list[int] = []
    specials: list[str] = []
    for row in rows:
        fund_account, line = str(row["fund_account"]), int(row["line"])
        if fund_account not in index:
            raise _reject(
                Rule.ACCOUNT_MUST_BE_KNOWN, "bank_transfers.csv", line, "fund_account", fund_account
            )
        kind, _ = index[fund_account]
        special = _special_for(context, str(row["bank_id"]), kind)
        if special is None:
            raise _reject(
                Rule.SPECIAL_ACCOUNT_MUST_EXIST,
                "bank_transfers.csv",
                line,
                "bank_id",
                f"{row['bank_id']}/{kind}",
            )
        if int(row["amount"]) > context.tools.schedule.transfer_approval_threshold_fen:
            _require_approval(
                context,
                "transfer",
                f"transfer:{context.broker_id}:{row['transfer_id']}",
                transfer_content(
                    fund_account=fund_account,
                    direction=str(row["direction"]),
                    amount_fen=int(row["amount"]),
                    bank_id=str(row["bank_id"]),
                ),
                Rule.LARGE_TRANSFER_MUST_BE_APPROVED,
                ("bank_transfers.csv", line, "amount"),
            )
        change = int(row["amount"]) * (1 if row["direction"] == "in" else -1)
        changes.append(change)
        specials.append(special)
        entries.append(
            JournalEntry(
                broker_id=context.broker_id,
                business_date=context.manifest.business_date,
                kind=EntryKind.BANK_TRANSFER,
                idempotency_key=f"transfer:{context.broker_id}:{row['transfer_id']}",
                source=context.source(sha, line=line),
                postings=(
                    Posting(acc.client(fund_account), acc.CASH, -change),
                    Posting(acc.special(special), acc.CASH, change),
                ),
                memo=f"bank transfer {row['direction']}",
            )
        )
    keys = [str(row["transfer_id"]) for row in rows]
    _refuse_by_status(context, rows, keys)
    _refuse_halted_flows(context, rows, keys, specials)
    _refuse_record_overdraft(context, "bank_transfers.csv", rows, keys, changes, withdrawal=True)
    _apply_records(context, "bank_transfers.csv", rows, entries, keys)


def _refuse_by_status(
    context: ApplyContext, rows: Sequence[dict[str, object]], keys: Sequence[str]
) -> None:
    """Spec §2: a frozen account sends no money out; a closed one no transfer at all."""
    done = context.uow.books.applied_keys(context.broker_id, "bank_transfers.csv", keys)
    standing = context.standing()
    for row, key in zip(rows, keys, strict=True):
        account = str(row["fund_account"])
        refusal = transfer_refusal(standing.status(account), str(row["direction"]))
        if refusal is not None and key not in done:
            raise _reject(
                Rule(refusal.value),
                "bank_transfers.csv",
                int(str(row["line"])),
                "direction",
                f"{mask(account)} is {standing.status(account).value}",
            )


def _refuse_halted_flows(
    context: ApplyContext,
    rows: Sequence[dict[str, object]],
    keys: Sequence[str],
    specials: Sequence[str],
) -> None:
    """A withdrawal through a flow the risk desk halted is refused: the client's money to
    that bank (or anywhere), or the special account's outflows it would be paid from."""
    halts = context.uow.flow_halts.halts(broker_id=context.broker_id, in_force=True)
    if not halts:
        return
    done = context.uow.books.applied_keys(context.broker_id, "bank_transfers.csv", keys)
    for row, key, special in zip(rows, keys, specials, strict=True):
        if row["direction"] != "out" or key in done:
            continue
        account, bank = str(row["fund_account"]), str(row["bank_id"])
        halt = halt_stopping(halts, account, bank) or halt_stopping(halts, special, account)
        if halt is not None:
            raise _reject(
                Rule.FLOW_MUST_NOT_BE_HALTED,
                "bank_transfers.csv",
                int(str(row["line"])),
                "fund_account",
                f"flow halt #{halt.halt_id}: {mask(halt.flow.account)} → {halt.flow.counterparty}",
            )


def _refuse_record_overdraft(
    context: ApplyContext,
    file: str,
    rows: Sequence[dict[str, object]],
    keys: Sequence[str],
    changes: Sequence[int],
    *,
    withdrawal: bool = False,
) -> None:
    """Walk the file's new records in order: no client's cash (withdrawable cash, for a
    transfer out: today's sale proceeds stay until D+1) may go below zero."""
    done = context.uow.books.applied_keys(context.broker_id, file, keys)
    balances = client_cash_balances(
        context.uow,
        context.broker_id,
        context.manifest.business_date,
        withdrawable=withdrawal,
        tools=context.tools,
    )
    cash = dict(
        zip(
            balances.column("fund_account").to_pylist(),
            balances.column("balance").to_pylist(),
            strict=True,
        )
    )
    if withdrawal:
        # An amount freeze (司法冻结) lowers what may leave by its amount until lifted.
        for account, frozen in context.standing().frozen_fen.items():
            cash[account] = cash.get(account, 0) - frozen
    for row, key, change in zip(rows, keys, changes, strict=True):
        if key in done:
            continue
        account = str(row["fund_account"])
        cash[account] = cash.get(account, 0) + change
        if cash[account] < 0 and change < 0:
            rule = (
                Rule.WITHDRAWAL_MUST_NOT_EXCEED_WITHDRAWABLE
                if withdrawal
                else Rule.CLIENT_CASH_MUST_NOT_GO_NEGATIVE
            )
            raise _reject(
                rule,
                file,
                int(str(row["line"])),
                "amount",
                f"{mask(account)} short by {-cash[account]} fen",
            )
