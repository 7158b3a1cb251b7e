"""Findings F1–F9 (spec section 3): codes, types, and the values the engine hands back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class FindingCode(StrEnum):
    F1 = "F1"
    F2 = "F2"
    F3 = "F3"
    F4 = "F4"
    F5 = "F5"
    F6 = "F6"
    F7 = "F7"
    F8 = "F8"
    F9 = "F9"


class FindingType(StrEnum):
    CLIENT_MISMATCH = "CLIENT_MISMATCH"
    OVERDRAFT = "OVERDRAFT"
    FUND_GAP = "FUND_GAP"
    MISAPPROPRIATION = "MISAPPROPRIATION"
    UNFILED_ACCOUNT = "UNFILED_ACCOUNT"
    ACCOUNT_MISMATCH = "ACCOUNT_MISMATCH"
    RESERVE_MISMATCH = "RESERVE_MISMATCH"
    FAULT_ACTION = "FAULT_ACTION"
    FILED_ACCOUNT_MISSING = "FILED_ACCOUNT_MISSING"


FINDING_TYPE: Mapping[FindingCode, FindingType] = dict(zip(FindingCode, FindingType, strict=True))

# F9 counts accounts (its `items_count`, amount 0); every other finding is an amount of fen.
COUNT_FINDINGS = frozenset({FindingCode.F9})


@dataclass(frozen=True)
class EvidenceItem:
    """One account, transaction, action or market behind a finding, largest first."""

    ref: str  # fund_account, account_no, txn_id, action_id, market or account kind
    amount_fen: int
    detail: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Finding:
    """A finding for one institution (and, for a bank, one branch region)."""

    code: FindingCode
    amount_fen: int  # fen; 0 for a count finding (F9), whose figure is `items_count`
    items_count: int  # how many accounts/transactions/actions make it up
    evidence: tuple[EvidenceItem, ...] = ()
    region: str | None = None  # a bank's F8 is per branch region

    @property
    def finding_type(self) -> FindingType:
        return FINDING_TYPE[self.code]

    @property
    def is_count(self) -> bool:
        return self.code in COUNT_FINDINGS

    @property
    def accounts_count(self) -> int:
        """For a count finding (F9): how many accounts; 0 for an amount finding."""
        return self.items_count if self.is_count else 0


@dataclass(frozen=True)
class StoredPackageFile:
    """One stored file of one accepted package: whose it is and where the engine reads it."""

    institution_id: str
    uri: str


@dataclass(frozen=True)
class FilingRow:
    account_no: str
    bank_id: str
    broker_id: str
    purpose: str
    branch_region: str


@dataclass(frozen=True)
class EngineRequest:
    """Everything the comparison engine needs for one business date, all names, no rows.

    `sources` maps "<kind>/<file name>" (e.g. "broker_daily/client_funds.csv") to the stored
    files of the accepted packages of that kind.
    """

    business_date: date
    sources: Mapping[str, tuple[StoredPackageFile, ...]]
    filings: tuple[FilingRow, ...]
    submitted_broker_ids: frozenset[str]
    submitted_bank_ids: frozenset[str]
    csdc_submitted: bool
    tolerance_fen: int
    evidence_rows_max: int


@dataclass(frozen=True)
class BrokerAggregates:
    """What the engine found for one broker, before completeness and grading."""

    broker_id: str
    client_fund_balance_fen: int  # L = Σ_k L_k
    findings: Mapping[FindingCode, Finding]
    affected_accounts: int  # distinct fund accounts in F1, F2 and the broker's F8
    client_fund_banks: frozenset[str] = field(default_factory=frozenset)
    special_account_banks: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class BankRegionAggregates:
    """F8 charged to one bank in one branch region."""

    bank_id: str
    branch_region: str
    finding: Finding
    affected_accounts: int


@dataclass(frozen=True)
class EngineResult:
    brokers: Mapping[str, BrokerAggregates]
    bank_regions: tuple[BankRegionAggregates, ...]
