"""Reference data of the monitor: institutions, special-account filings (账户报备), holidays."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from clearwatch.domain.shared.calendar import BusinessCalendar


class InstitutionKind(StrEnum):
    BROKER = "broker"
    BANK = "bank"
    CSDC = "csdc"


@dataclass(frozen=True)
class Institution:
    institution_id: str
    kind: InstitutionKind
    name: str
    region: str


@dataclass(frozen=True)
class SpecialAccountFiling:
    """A special account a broker filed (账户报备) with the monitor."""

    account_no: str
    bank_id: str
    broker_id: str
    purpose: str
    branch_region: str
    filed_on: date


@dataclass(frozen=True)
class RegistrySnapshot:
    """One version of the registry, as loaded."""

    version: int
    institutions: tuple[Institution, ...]
    special_accounts: tuple[SpecialAccountFiling, ...]
    holidays: tuple[date, ...]

    def institution(self, institution_id: str) -> Institution | None:
        return next((i for i in self.institutions if i.institution_id == institution_id), None)

    def of_kind(self, kind: InstitutionKind) -> tuple[Institution, ...]:
        return tuple(i for i in self.institutions if i.kind is kind)

    @property
    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar.with_holidays(self.holidays)

    def filed_by(self, business_date: date) -> RegistrySnapshot:
        """The registry as a day is judged by: only the accounts filed on or before it. A day
        is compared again long after (every case decision re-grades it), and an account
        filed since must neither clear that day's F5 nor be missed by it (F9)."""
        filed = tuple(f for f in self.special_accounts if f.filed_on <= business_date)
        return replace(self, special_accounts=filed)
