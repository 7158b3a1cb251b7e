"""Ledger invariants as properties: balanced entries keep the funds identity, reversals undo."""

from collections import defaultdict
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from clearwatch.domain.backoffice import accounts as acc
from clearwatch.domain.backoffice.invariants import (
    InvariantRule,
    balance_breaches,
    cash_totals,
    funds_breaches,
)
from clearwatch.domain.backoffice.journal import (
    EntryKind,
    EntryNotBalanced,
    JournalEntry,
    Posting,
    Source,
    balanced_entry,
    imbalances,
    merge_postings,
    reversal_of,
)

DAY = date(2026, 11, 20)
CLIENTS = [acc.client(f"F{i}") for i in range(4)]
HELD = [acc.special("SA1"), acc.reserve("SH"), acc.transit("SH")]
BROKER = [acc.fee_income("normal"), acc.payable(acc.Authority.TAX, "SH"), acc.OWN_FUNDS]


@st.composite
def balanced_cash_entries(draw: st.DrawFn) -> JournalEntry:
    """Any number of cash movements, each from one account to another: always balanced."""
    moves = draw(
        st.lists(
            st.tuples(
                st.sampled_from(CLIENTS + HELD + BROKER),
                st.sampled_from(CLIENTS + HELD + BROKER),
                st.integers(min_value=1, max_value=10**12),
            ),
            min_size=1,
            max_size=8,
        )
    )
    postings = []
    for debit, credit, amount in moves:
        postings += [Posting(debit, acc.CASH, amount), Posting(credit, acc.CASH, -amount)]
    key = f"e{draw(st.integers(min_value=0, max_value=10**9))}"
    return JournalEntry("B001", DAY, EntryKind.CASH_ADJUSTMENT, key, Source(), tuple(postings))


def _sums(entries: list[JournalEntry]) -> list[tuple[str, int]]:
    sums: dict[str, int] = defaultdict(int)
    for entry in entries:
        for posting in entry.postings:
            sums[posting.account] += posting.quantity
    return list(sums.items())


@given(st.lists(balanced_cash_entries(), max_size=10))
def test_any_balanced_entries_keep_client_cash_equal_to_funds_held(
    entries: list[JournalEntry],
) -> None:
    for entry in entries:
        assert balanced_entry(entry) is entry
    assert funds_breaches(cash_totals(_sums(entries))) == []


@given(balanced_cash_entries())
def test_an_entry_and_its_reversal_leave_every_account_unchanged(entry: JournalEntry) -> None:
    reversal = reversal_of(entry, business_date=DAY, user="checker")
    assert reversal.reverses_key == entry.idempotency_key
    assert all(total == 0 for _, total in _sums([entry, reversal]))


@given(balanced_cash_entries(), st.integers(min_value=1, max_value=10**6))
def test_one_extra_posting_unbalances_the_entry_and_is_refused(
    entry: JournalEntry, extra: int
) -> None:
    broken = JournalEntry(
        entry.broker_id,
        entry.business_date,
        entry.kind,
        entry.idempotency_key,
        entry.source,
        (*entry.postings, Posting(CLIENTS[0], acc.CASH, extra)),
    )
    assert imbalances(broken.postings) == {acc.CASH: extra}
    try:
        balanced_entry(broken)
    except EntryNotBalanced as error:
        assert "entry_must_balance_per_asset" in str(error)
    else:
        raise AssertionError("an unbalanced entry was accepted")


@given(balanced_cash_entries())
def test_merging_postings_keeps_every_account_sum(entry: JournalEntry) -> None:
    merged = merge_postings(entry.postings)
    assert len({p.account for p in merged}) == len(merged)
    assert {p.account: p.quantity for p in merged} == {a: t for a, t in _sums([entry]) if t != 0}


def test_money_leaving_the_books_one_sided_is_named_a_funds_breach() -> None:
    totals = cash_totals([(acc.client("F1"), -500), (acc.special("SA1"), 400)])
    breaches = funds_breaches(totals)
    assert [b.rule for b in breaches] == [InvariantRule.CLIENT_CASH_MUST_EQUAL_FUNDS_HELD]
    assert breaches[0].amount == 100


def test_negative_cash_without_credit_and_negative_holdings_are_named() -> None:
    rows = [("client:F1", acc.CASH, -100), ("client:F2", "SH.600000", -5)]
    rules = [b.rule for b in balance_breaches(rows)]
    assert rules == [
        InvariantRule.CLIENT_CASH_MUST_NOT_BE_NEGATIVE,
        InvariantRule.HOLDING_MUST_NOT_BE_NEGATIVE,
    ]
    assert [b.rule for b in balance_breaches(rows, {"client:F1": 100})] == [
        InvariantRule.HOLDING_MUST_NOT_BE_NEGATIVE
    ]
