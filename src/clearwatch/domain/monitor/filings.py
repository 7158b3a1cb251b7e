"""Special-account filings (账户报备) by institutions: the rules a filing and its decision obey.

An institution's officer files a new special account, or asks to close a filed one; the filing
is `pending` until SIPF's registry officer approves it (a new registry version with the account
added or removed) or rejects it. Nothing is edited: a filing is a row, its decision another.
A broker's officer files for accounts whose `broker_id` is the broker; a bank's officer for
accounts whose `bank_id` is the bank; CSDC files nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from clearwatch.domain.monitor.registry import (
    InstitutionKind,
    RegistrySnapshot,
    SpecialAccountFiling,
)
from clearwatch.domain.monitor.registry_files import RegistryContent
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.shared.file_schema import PURPOSES
from clearwatch.domain.shared.regions import REGIONS

account_no_chars_max = 64  # the registry's column
filing_reason_chars_max = 2000


class FilingRule(StrEnum):
    """Each a rule a filing or its decision broke, in the order they are checked."""

    REGISTRY_MUST_BE_LOADED = "registry_must_be_loaded"
    FILING_MUST_BE_FOR_OWN_INSTITUTION = "filing_must_be_for_own_institution"
    ACCOUNT_NO_MUST_BE_GIVEN = "account_no_must_be_given"
    PURPOSE_MUST_BE_KNOWN = "purpose_must_be_known"
    REGION_MUST_BE_KNOWN = "region_must_be_known"
    BANK_MUST_BE_REGISTERED = "bank_must_be_registered"
    BROKER_MUST_BE_REGISTERED = "broker_must_be_registered"
    ACCOUNT_MUST_NOT_BE_FILED_TWICE = "account_must_not_be_filed_twice"
    CLOSING_NEEDS_A_FILED_ACCOUNT = "closing_needs_a_filed_account"
    REASON_MUST_BE_GIVEN = "reason_must_be_given"
    FILING_MUST_EXIST = "filing_must_exist"
    FILING_MUST_BE_PENDING = "filing_must_be_pending"
    FILER_MUST_NOT_DECIDE_OWN_FILING = "filer_must_not_decide_own_filing"


class FilingKind(StrEnum):
    OPEN = "open"  # file a new special account
    CLOSE = "close"  # take a filed account out of the registry


class FilingStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class FilingAudit(StrEnum):
    """What the audit log records of filings (the log takes any action text)."""

    FILED = "monitor.filing.filed"
    APPROVED = "monitor.filing.approved"  # with the registry version it made
    REJECTED = "monitor.filing.rejected"


@dataclass(frozen=True)
class Filing:
    """A filing as stored, with its decision when there is one."""

    filing_id: int
    kind: FilingKind
    account: SpecialAccountFiling
    institution_id: str  # the filer's institution
    reason: str  # why an account closes; empty for a new one
    filed_by: str
    filed_at: datetime
    status: FilingStatus = FilingStatus.PENDING
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None
    registry_version: int | None = None  # the version an approval made

    @property
    def reference(self) -> str:
        return f"filing:{self.filing_id}"


def filer_side(
    institution_id: str, registry: RegistrySnapshot, account: SpecialAccountFiling
) -> str:
    """The institution the filing is for, as the filer's kind reads the account: a broker
    files by `broker_id`, a bank by `bank_id`; anyone else for the broker named."""
    institution = registry.institution(institution_id)
    if institution is not None and institution.kind is InstitutionKind.BANK:
        return account.bank_id
    return account.broker_id


def check_own_institution(
    institution_id: str, registry: RegistrySnapshot, account: SpecialAccountFiling
) -> None:
    """`filing_must_be_for_own_institution`: a broker or bank files its own accounts only."""
    institution = registry.institution(institution_id)
    kinds = (InstitutionKind.BROKER, InstitutionKind.BANK)
    if institution is None or institution.kind not in kinds:
        raise Refused(
            FilingRule.FILING_MUST_BE_FOR_OWN_INSTITUTION,
            f"{institution_id} is no broker or bank of registry version {registry.version}",
        )
    side = filer_side(institution_id, registry, account)
    if side != institution_id:
        column = "bank_id" if institution.kind is InstitutionKind.BANK else "broker_id"
        raise Refused(
            FilingRule.FILING_MUST_BE_FOR_OWN_INSTITUTION,
            f"{account.account_no}: {column} is {side}, not {institution_id}",
        )


def check_new_account(
    account: SpecialAccountFiling, registry: RegistrySnapshot, pending: Iterable[str]
) -> SpecialAccountFiling:
    """A new account's values, its bank and broker in the registry, and no second filing."""
    account_no = account.account_no.strip()
    if not account_no or len(account_no) > account_no_chars_max:
        raise Refused(
            FilingRule.ACCOUNT_NO_MUST_BE_GIVEN, f"1 to {account_no_chars_max} characters"
        )
    if account.purpose not in PURPOSES:
        raise Refused(
            FilingRule.PURPOSE_MUST_BE_KNOWN,
            f"{account.purpose!r} is not one of {', '.join(PURPOSES)}",
        )
    if account.branch_region not in REGIONS:
        raise Refused(
            FilingRule.REGION_MUST_BE_KNOWN, f"{account.branch_region!r} is not a bureau's code"
        )
    _check_registered(registry, account.bank_id, InstitutionKind.BANK)
    _check_registered(registry, account.broker_id, InstitutionKind.BROKER)
    if any(filed.account_no == account_no for filed in registry.special_accounts):
        raise Refused(
            FilingRule.ACCOUNT_MUST_NOT_BE_FILED_TWICE,
            f"{account_no} is filed in registry version {registry.version}",
        )
    if account_no in set(pending):
        raise Refused(
            FilingRule.ACCOUNT_MUST_NOT_BE_FILED_TWICE, f"{account_no} has a pending filing"
        )
    return replace(account, account_no=account_no)


def _check_registered(registry: RegistrySnapshot, ident: str, kind: InstitutionKind) -> None:
    rule = (
        FilingRule.BANK_MUST_BE_REGISTERED
        if kind is InstitutionKind.BANK
        else FilingRule.BROKER_MUST_BE_REGISTERED
    )
    institution = registry.institution(ident)
    if institution is None or institution.kind is not kind:
        raise Refused(rule, f"{ident!r} is no {kind.value} of registry version {registry.version}")


def not_filed(account_no: str, registry: RegistrySnapshot) -> Refused:
    """`closing_needs_a_filed_account`: also how another institution's account is answered."""
    return Refused(
        FilingRule.CLOSING_NEEDS_A_FILED_ACCOUNT,
        f"{account_no!r} is not filed in registry version {registry.version}",
    )


def filed_account(
    account_no: str, registry: RegistrySnapshot, pending: Iterable[str]
) -> SpecialAccountFiling:
    """The filed account a closing names; `closing_needs_a_filed_account` otherwise."""
    found = next((a for a in registry.special_accounts if a.account_no == account_no), None)
    if found is None:
        raise not_filed(account_no, registry)
    if account_no in set(pending):
        raise Refused(
            FilingRule.ACCOUNT_MUST_NOT_BE_FILED_TWICE, f"{account_no} has a pending filing"
        )
    return found


def checked_reason(reason: str | None, what: str) -> str:
    text = (reason or "").strip()
    if not text or len(text) > filing_reason_chars_max:
        raise Refused(
            FilingRule.REASON_MUST_BE_GIVEN, f"{what}: 1 to {filing_reason_chars_max} characters"
        )
    return text


def check_decidable(filing: Filing, decider: str) -> None:
    """Only a pending filing is decided, and never by the one who filed it."""
    if filing.status is not FilingStatus.PENDING:
        raise Refused(
            FilingRule.FILING_MUST_BE_PENDING, f"{filing.reference} is {filing.status.value}"
        )
    if filing.filed_by == decider:
        raise Refused(
            FilingRule.FILER_MUST_NOT_DECIDE_OWN_FILING, f"{filing.reference} by {decider}"
        )


def registry_after(filing: Filing, registry: RegistrySnapshot) -> RegistryContent:
    """The registry the approved filing makes: the current one with the account added or
    removed. The current version is checked again, since a load may have come in between."""
    if filing.kind is FilingKind.OPEN:
        account = check_new_account(filing.account, registry, ())
        accounts = (*registry.special_accounts, account)
    else:
        filed_account(filing.account.account_no, registry, ())
        accounts = tuple(
            a for a in registry.special_accounts if a.account_no != filing.account.account_no
        )
    return RegistryContent(registry.institutions, accounts, registry.holidays)
