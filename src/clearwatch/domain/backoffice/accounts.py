"""Accounts of the books, named `<class>:<detail>`; assets are `CASH` (fen) or `SH.600000` (shares).

Postings are debit-positive. Claims on the broker (client cash and holdings, fee income,
payables, own funds) are credit-normal: their balance is minus the sum of their postings.
What the broker holds (special accounts, the reserve at CSDC, securities in custody, settlement
in transit with CSDC) is debit-normal.
"""

from __future__ import annotations

from enum import StrEnum

# Re-exported: the books name money's asset as every area does (`accounts.CASH`).
from clearwatch.domain.shared.kinds import CASH as CASH


class AccountClass(StrEnum):
    CLIENT = "client"  # a client fund account: its cash and its holding of each security
    SPECIAL = "special"  # a special account at a bank (客户交易结算资金专用存款账户 etc.)
    RESERVE = "reserve"  # client settlement reserve at CSDC, per market
    CUSTODY = "custody"  # securities held at CSDC for clients, per market
    TRANSIT = "transit"  # trade cash due to (−) or from (+) CSDC, settled on D+1, per market
    FEE_INCOME = "fee_income"  # commission earned, per account kind
    PAYABLE = "payable"  # fees owed to the exchange, CSDC or tax authority, per market
    OWN_FUNDS = "own_funds"  # the broker's own money
    OPENING = "opening"  # the counterpart of opening securities already in custody
    # What a client owes the broker after the broker advanced its own funds (垫付) to cover the
    # client's overdrawn cash: debit-normal, the broker's claim, held beside the funds.
    RECEIVABLE = "receivable"


CREDIT_NORMAL = frozenset(
    {AccountClass.CLIENT, AccountClass.FEE_INCOME, AccountClass.PAYABLE, AccountClass.OWN_FUNDS}
)


class Authority(StrEnum):
    EXCHANGE = "exchange"
    CSDC = "csdc"
    TAX = "tax"


def client(fund_account: str) -> str:
    return f"client:{fund_account}"


def special(account_no: str) -> str:
    return f"special:{account_no}"


def reserve(market: str) -> str:
    return f"reserve:{market}"


def custody(market: str) -> str:
    return f"custody:{market}"


def transit(market: str) -> str:
    return f"transit:{market}"


def fee_income(account_kind: str) -> str:
    return f"fee_income:{account_kind}"


def payable(authority: Authority, market: str) -> str:
    return f"payable:{authority.value}:{market}"


def receivable(fund_account: str) -> str:
    return f"receivable:{fund_account}"


OWN_FUNDS = "own_funds:broker"


def account_class(account: str) -> AccountClass:
    return AccountClass(account.partition(":")[0])


def natural_balance(account: str, posted_sum: int) -> int:
    """The balance as the account's holder reads it (a client's cash is positive when owed)."""
    return -posted_sum if account_class(account) in CREDIT_NORMAL else posted_sum
