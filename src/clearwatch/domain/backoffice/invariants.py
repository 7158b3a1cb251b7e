"""The invariants of the books (spec §1), named, over balances the books report."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from clearwatch.domain.backoffice.accounts import CASH, AccountClass, account_class, natural_balance


class InvariantRule(StrEnum):
    CLIENT_CASH_MUST_NOT_BE_NEGATIVE = "client_cash_must_not_be_negative"
    HOLDING_MUST_NOT_BE_NEGATIVE = "holding_must_not_be_negative"
    CLIENT_CASH_MUST_EQUAL_FUNDS_HELD = "client_cash_must_equal_special_reserve_and_transit"
    ENTRY_MUST_BALANCE_PER_ASSET = "entry_must_balance_per_asset"


@dataclass(frozen=True)
class Breach:
    rule: InvariantRule
    subject: str  # the account, entry or total concerned
    amount: int  # fen or shares, as the rule measures it

    def describe(self) -> str:
        return f"{self.rule.value}: {self.subject} ({self.amount})"


@dataclass(frozen=True)
class CashTotals:
    """Σ natural cash balance per account class."""

    by_class: Mapping[AccountClass, int]

    def of(self, cls: AccountClass) -> int:
        return self.by_class.get(cls, 0)

    @property
    def items_in_transit_fen(self) -> int:
        """What the broker's funds hold beyond client cash: trade cash in transit with CSDC, and
        what overdrawn clients owe for the broker's advance (垫付), less fees not yet paid out or
        swept, less the broker's own money left in the accounts (an advance is own money)."""
        return (
            self.of(AccountClass.TRANSIT)
            + self.of(AccountClass.CUSTODY)
            + self.of(AccountClass.RECEIVABLE)
            - self.of(AccountClass.FEE_INCOME)
            - self.of(AccountClass.PAYABLE)
            - self.of(AccountClass.OWN_FUNDS)
        )


def advance_lines(receivables: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Credit lines from the receivables of advances: (`receivable:F`, Σ postings) pairs of
    CASH → {`client:F`: what the client owes}, the cash it may be below zero."""
    lines: dict[str, int] = {}
    for account, posted_sum in receivables:
        if account_class(account) is AccountClass.RECEIVABLE and posted_sum > 0:
            fund_account = account.partition(":")[2]
            lines[f"client:{fund_account}"] = natural_balance(account, posted_sum)
    return lines


def cash_totals(balances: Iterable[tuple[str, int]]) -> CashTotals:
    """Σ natural CASH balance per class, from (account, Σ postings) pairs of CASH."""
    by_class: dict[AccountClass, int] = {}
    for account, posted_sum in balances:
        cls = account_class(account)
        by_class[cls] = by_class.get(cls, 0) + natural_balance(account, posted_sum)
    return CashTotals(by_class)


def funds_breaches(totals: CashTotals) -> list[Breach]:
    """Σ client cash = Σ special-account cash + reserve at CSDC + items in transit."""
    held = (
        totals.of(AccountClass.SPECIAL)
        + totals.of(AccountClass.RESERVE)
        + totals.items_in_transit_fen
    )
    difference = totals.of(AccountClass.CLIENT) - held
    if difference == 0:
        return []
    return [Breach(InvariantRule.CLIENT_CASH_MUST_EQUAL_FUNDS_HELD, "books", difference)]


def balance_breaches(
    negative_client_balances: Iterable[tuple[str, str, int]],
    credit_lines_fen: Mapping[str, int] | None = None,
) -> list[Breach]:
    """Client cash below zero (beyond a recorded credit line) and holdings below zero.

    `credit_lines_fen` is keyed by client account (`client:F0001`); the broker's advance to an
    overdrawn client (its receivable from the client) is such a line."""
    credit = credit_lines_fen or {}
    breaches: list[Breach] = []
    for account, asset, balance in negative_client_balances:
        if asset == CASH:
            if balance + credit.get(account, 0) < 0:
                breaches.append(
                    Breach(InvariantRule.CLIENT_CASH_MUST_NOT_BE_NEGATIVE, account, balance)
                )
        elif balance < 0:
            breaches.append(
                Breach(InvariantRule.HOLDING_MUST_NOT_BE_NEGATIVE, f"{account}/{asset}", balance)
            )
    return breaches
