"""After grading: a warning's approval, its recipients, the notice they get, delivery retries.

Spec platform §5. A graded warning is `proposed`; a reviewer other than its proposer approves
or withdraws it. A warning is identified by its content (`warning_key`), not by the result
version that carried it: a later version of D with the very same warning for an institution is
the same warning, already decided and delivered, never pushed twice.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from clearwatch.domain.access.organisations import CSRC_ID
from clearwatch.domain.shared.errors import Refused


class WarningStatus(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    WITHDRAWN = "withdrawn"


class WarningRule(StrEnum):
    WARNING_MUST_EXIST = "warning_must_exist"
    WARNING_MUST_BE_OF_LATEST_VERSION = "warning_must_be_of_the_latest_result_version"
    WARNING_MUST_BE_PROPOSED = "warning_must_be_proposed"
    APPROVER_MUST_NOT_BE_PROPOSER = "approver_must_not_be_the_proposer"
    REASON_MUST_BE_GIVEN = "reason_must_be_given"


class Channel(StrEnum):
    INBOX = "inbox"  # the recipient's inbox in the platform: always
    WEBHOOK = "webhook"  # a signed POST to the recipient's configured URL
    DOCUMENTS = "documents"  # the PDF notice and the workbook of findings


class NoticeKind(StrEnum):
    """The document each recipient gets."""

    NOTICE = "notice"  # 预警通知书, to the bureau
    COPY = "copy"  # 抄送, to the warned institution
    SPECIAL_REPORT = "special_report"  # 专项报告, to CSRC for a major warning

    @property
    def heading(self) -> str:
        return {
            NoticeKind.NOTICE: "预警通知书",
            NoticeKind.COPY: "预警通知书（抄送）",
            NoticeKind.SPECIAL_REPORT: "专项报告",
        }[self]


class DeliveryEvent(StrEnum):
    CLAIMED = "claimed"  # a worker took it; without an outcome past the lease, it died
    DELIVERED = "delivered"
    FAILED = "failed"
    PARKED = "parked"  # the attempt limit was reached: an operator looks at it


LEVEL_NAMES = {"major": "重大预警", "general": "一般预警", "attention": "提示关注"}
CRITERION_TEXT = {
    "M1": "挪用客户资金并形成资金缺口",
    "M2": "问题金额占客户资金余额比例达到 25%",
    "M3": "报送数据或核实说明经核查存在造假",
    "M4": "经复核确认的其他重大异常",
    "G1": "客户资金存在缺口",
    "G2": "问题金额达到 1 亿元",
    "G3": "未经资金检查即接受委托",
    "G4": "存管银行错误划转客户资金",
    "G5": "未报备的专用存款账户",
    "G6": "同一报送类别年内累计达到 5 次",
    "G7": "挪用未形成缺口或其他违规情形",
    "A1": "专用存款账户余额不符",
    "A2": "结算备付金余额不符",
    "A3": "报备账户未报送",
    "A4": "客户资金明细不符",
    "A5": "问题金额达到 100 万元",
    "A6": "涉及客户资金账户超过 100 户",
    "A7": "客户资金划转出错",
}

# Retries: the first retry after `base`, doubling, never longer than `cap`.
backoff_cap = timedelta(hours=1)
backoff_doublings_max = 16  # past it the cap holds anyway; keeps the arithmetic small


@dataclass(frozen=True)
class Recipient:
    organisation: str  # a bureau's region code, the institution's id, or CSRC
    notice: NoticeKind


def recipients_of(*, route_to: str, cc: str, special_report: bool) -> tuple[Recipient, ...]:
    """Who gets an approved warning: its bureau, the warned institution, CSRC when major."""
    found = [Recipient(route_to, NoticeKind.NOTICE), Recipient(cc, NoticeKind.COPY)]
    if special_report:
        found.append(Recipient(CSRC_ID, NoticeKind.SPECIAL_REPORT))
    return tuple(found)


def warning_key(content: dict[str, Any]) -> str:
    """The warning's identity: the sha256 of its canonical content (no version, no row id)."""
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def delivery_key(key: str, recipient: str) -> str:
    """One key per (warning, recipient): what a receiver deduplicates by."""
    return f"{key}:{recipient}"


def check_approver(proposer: str, approver: str) -> None:
    """Nobody approves (or withdraws) their own proposal."""
    if proposer == approver:
        raise Refused(WarningRule.APPROVER_MUST_NOT_BE_PROPOSER, approver)


def user_of(label: str) -> str:
    """The user behind an actor label (`user/token:id` when a machine acted)."""
    return label.split("/token:", 1)[0]


def retry_at(at: datetime, *, attempts: int, base: timedelta) -> datetime:
    """When a delivery that failed its `attempts`-th time is tried again."""
    delay: timedelta = base * (2 ** min(max(attempts - 1, 0), backoff_doublings_max))
    moment: datetime = at + min(delay, backoff_cap)
    return moment
