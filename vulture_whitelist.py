"""Names vulture cannot see used: framework callbacks and values reached by name at run time.

vulture reads `src` and `tests` with this file (pyproject.toml, [tool.vulture]). Every entry is
called or read by a framework or by value, never by our own code; anything else it reports is
dead and goes. Typer commands and callbacks and SQLAlchemy event hooks are covered by
`ignore_decorators` there rather than listed here.
"""

# ruff: noqa: B018 — every line is an expression that only names something for vulture.

from vulture.whitelist_utils import Whitelist

from clearwatch.domain.access.approvals import ApprovalKind
from clearwatch.domain.access.roles import Role
from clearwatch.domain.backoffice.accounts import Authority
from clearwatch.domain.monitor.criteria import Criterion
from clearwatch.domain.monitor.findings import FindingType

_ = Whitelist()

# Alembic reads these module variables and calls these functions of every revision file.
_.revision
_.down_revision
_.branch_labels
_.depends_on
_.downgrade

# The context-manager protocol passes the exception triple to __exit__.
_.exc_type
_.tb
_.trace

# pyarrow's and io's file wrappers call these on the file-like objects we hand them.
_.closed
_.readable
_.readinto
_.tell

# pytest fixtures requested by name (`request.getfixturevalue("postgres_app")`).
_.postgres_app

# The sqlite3 driver reads this attribute, set in the "connect" hook: None stops its own
# implicit BEGIN, so SQLAlchemy's "begin" hook can issue BEGIN IMMEDIATE instead.
_.isolation_level

# Enum members reached by value (`Role("auditor")`, codes read from stored rows) or by
# iterating the enum (`zip(FindingCode, FindingType)`), never by attribute.
ApprovalKind.CORRECTION_BATCH
Role.AUDITOR
Authority.EXCHANGE
Criterion.M4
FindingType.CLIENT_MISMATCH
FindingType.OVERDRAFT
FindingType.FUND_GAP
FindingType.MISAPPROPRIATION
FindingType.UNFILED_ACCOUNT
FindingType.ACCOUNT_MISMATCH
FindingType.RESERVE_MISMATCH
FindingType.FAULT_ACTION
FindingType.FILED_ACCOUNT_MISSING
