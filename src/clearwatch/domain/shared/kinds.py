"""The closed vocabularies every area shares: package kinds, markets, sides, statuses, actions.

Each is a `StrEnum`, so a member *is* its text: stored rows, Parquet columns, JSON and audit
payloads hold exactly the bytes they held when these were bare strings.
"""

from __future__ import annotations

from enum import StrEnum

# The asset name of money in the books and on the trading nodes (fen); shares are `SH.600000`.
CASH = "CASH"


class PackageKind(StrEnum):
    """The daily packages the monitor receives (spec monitoring §2), one per institution kind."""

    BROKER_DAILY = "broker_daily"
    BANK_DAILY = "bank_daily"
    CSDC_DAILY = "csdc_daily"


class Market(StrEnum):
    """Exchanges whose trades clear through CSDC; the text is the prefix of a security code."""

    SH = "SH"
    SZ = "SZ"
    BJ = "BJ"


class Side(StrEnum):
    """The side of an order or execution as the exchanges spell it."""

    BUY = "B"
    SELL = "S"


class PackageStatus(StrEnum):
    """A monitor package as stored: accepted until a later sequence supersedes it."""

    ACCEPTED = "accepted"
    SUPERSEDED = "superseded"
    REJECTED = "rejected"


class BatchStatus(StrEnum):
    """A back-office batch as stored: received, then applied to the books."""

    RECEIVED = "received"
    APPLIED = "applied"


class AuditAction(StrEnum):
    """Every action the audit log records; `str(action)` is the text in the hash chain."""

    STORE_SCHEMA_UPGRADED = "store.schema_upgraded"
    STORE_TRIGGERS_RESTORED = "store.triggers_restored"
    USER_ADDED = "user.added"
    USER_ROLE_GRANTED = "user.role_granted"
    USER_ROLE_REVOKED = "user.role_revoked"
    APPROVAL_REQUESTED = "approval.requested"
    APPROVAL_APPROVED = "approval.approved"
    APPROVAL_REJECTED = "approval.rejected"
    ACCESS_DENIED = "access.denied"  # a request the policy refused; nothing else changed
    EVIDENCE_READ = "access.evidence_read"  # identifiers read whole, as the policy allowed
    ACCESS_SIGNED_IN = "access.signed_in"
    ACCESS_SIGN_IN_FAILED = "access.sign_in_failed"  # wrong password or code, or locked
    ACCESS_PASSWORD_SET = "access.password_set"
    ACCESS_SECOND_FACTOR_ENROLLED = "access.second_factor_enrolled"
    ACCESS_TOKEN_CREATED = "access.token_created"
    ACCESS_TOKEN_REVOKED = "access.token_revoked"
    ACCESS_TOKEN_USED = "access.token_used"  # every use of a machine's token
    MONITOR_REGISTRY_LOAD = "monitor.registry.load"
    MONITOR_REGISTRY_REJECT = "monitor.registry.reject"
    MONITOR_PACKAGE_ACCEPT = "monitor.package.accept"
    MONITOR_PACKAGE_REJECT = "monitor.package.reject"
    MONITOR_LATE_RECORDED = "monitor.late_recorded"
    MONITOR_RUN_DAY = "monitor.run_day"
    MONITOR_CASES_OPENED = "monitor.cases.opened"  # the cases a run opened, in its transaction
    MONITOR_CASE_EXPLAINED = "monitor.case.explained"
    MONITOR_CASE_DECIDED = "monitor.case.decided"  # accept, careless, falsified or escalate
    MONITOR_CASE_ESCALATION_APPROVED = "monitor.case.escalation_approved"
    MONITOR_SWEEP = "monitor.sweep"  # overdue cases and late packages marked at deadlines
    MONITOR_WARNING_APPROVED = "monitor.warning.approved"  # with its outbox rows
    MONITOR_WARNING_WITHDRAWN = "monitor.warning.withdrawn"
    MONITOR_DELIVERY_DELIVERED = "monitor.delivery.delivered"
    MONITOR_DELIVERY_PARKED = "monitor.delivery.parked"  # its attempt limit was reached
    MONITOR_AUDIT_HEAD_KEPT = "monitor.audit_head_kept"  # a package's signed head; pins the key
    BATCH_IMPORTED = "batch.imported"
    ENTRY_REVERSED = "books.entry_reversed"  # 红冲, through an approval bound to the entry
    ACCOUNT_STATUS_CHANGED = "books.account_status_changed"  # through an approved request
    AMOUNT_FREEZE_CHANGED = "books.amount_freeze_changed"  # placed or lifted, approved
    BREAK_RAISED = "books.break_raised"  # a reconciliation difference or a status break
    BREAK_RESOLVED = "books.break_resolved"  # matched or explained; closed by its approval
    EOD_COMPLETED = "eod.completed"
    EOD_STEP_IMPORT = "eod.step.import"
    EOD_STEP_SETTLE_CSDC = "eod.step.settle_csdc"
    EOD_STEP_CHECK = "eod.step.check"
    EOD_STEP_STATEMENTS = "eod.step.statements"
    EOD_STEP_CSDC_SETTLEMENT = "eod.step.csdc_settlement"
    EOD_STEP_RECONCILIATION = "eod.step.reconciliation"
    EOD_STEP_PACKAGE = "eod.step.package"
    INTRADAY_CONSERVATION_BREACH = "intraday.conservation_breach"
    INTRADAY_LEASE_FIRST = "intraday.lease_first"
    INTRADAY_LEASE_TAKEOVER = "intraday.lease_takeover"
    INTRADAY_LEASE_OVERRIDE = "intraday.lease_override"
    INTRADAY_LEASE_RELEASE = "intraday.lease_release"
    INTRADAY_WRITE_REFUSED = "intraday.write_refused"
    INTRADAY_START_OF_DAY = "intraday.start_of_day"
    INTRADAY_REPLAYED = "intraday.replayed"
    INTRADAY_ORDERS = "intraday.orders"
    INTRADAY_FILLS = "intraday.fills"
    INTRADAY_CANCELS = "intraday.cancels"
    INTRADAY_HALT_LIFTED = "intraday.halt_lifted"  # an approved override lifted one halt
