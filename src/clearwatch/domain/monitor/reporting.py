"""Reporting categories (LATE, BATCH_ERROR, CARELESS_VERIFICATION), their occurrences, reminders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class ReportingCategory(StrEnum):
    LATE = "LATE"
    BATCH_ERROR = "BATCH_ERROR"
    CARELESS_VERIFICATION = "CARELESS_VERIFICATION"


@dataclass(frozen=True)
class ReportingOccurrence:
    """One occurrence, recorded once per (institution, business date, package kind, category)."""

    occurrence_id: int
    institution_id: str
    category: ReportingCategory
    business_date: date
    package_kind: str
    occurred_at: datetime
    detail: str


@dataclass(frozen=True)
class VerbalReminder:
    """The one-to-one verbal reminder (口头提醒) each occurrence creates."""

    reminder_id: int
    occurrence_id: int
    institution_id: str
    category: ReportingCategory
    business_date: date
    issued_at: datetime
    text: str


REMINDER_TEXT = {
    ReportingCategory.LATE: "口头提醒：{date} 的 {kind} 数据未按时报送（截止次一交易日 09:00）。",
    ReportingCategory.BATCH_ERROR: "口头提醒：{date} 的 {kind} 数据报送被拒收，请核对后重报。",
    ReportingCategory.CARELESS_VERIFICATION: "口头提醒：{date} 的核实说明不认真或逾期未报。",
}


def reminder_text(category: ReportingCategory, business_date: date, package_kind: str) -> str:
    """The reminder's wording, naming the date and package kind concerned."""
    return REMINDER_TEXT[category].format(date=business_date.isoformat(), kind=package_kind or "-")


def is_late(received_at: datetime, deadline_at: datetime) -> bool:
    """A package received after its deadline (not at it) is late."""
    return received_at > deadline_at
