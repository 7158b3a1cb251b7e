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
from clearwatch.domain.monitor.cases import ExplanationCategory
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
ExplanationCategory.TIMING_DIFFERENCE
ExplanationCategory.DATA_ERROR
ExplanationCategory.OPERATIONAL_ERROR
ExplanationCategory.MISCONDUCT

# http.server calls these on a request handler (the tests' webhook receiver).
_.do_POST
_.log_message

# FastAPI calls the API's route functions (registered by `@router.get(...)` and the like),
# reads its response models' fields, and uvicorn builds `app_from_environment` by name
# (`clearwatch serve --workers N`); `serve` is loaded by name from `LAZY_COMMANDS`.
_.whoami
_.token_create
_.token_list
_.token_revoke
_.users_list
_.users_add
_.users_grant
_.users_revoke
_.users_emergency_grant
_.approvals_list
_.approvals_request
_.approvals_approve
_.approvals_reject
_.registry_show
_.registry_load
_.packages_submit
_.packages_list
_.packages_show
_.monitor_run_day
_.monitor_day_result
_.warnings_list
_.filings_file
_.filings_close
_.filings_list
_.filings_approve
_.filings_reject
_.cases_list
_.cases_show
_.cases_attachment
_.cases_explain
_.cases_decide
_.cases_approve
_.timeline
_.warnings_review
_.warnings_approve
_.warnings_withdraw
_.deliveries_list
_.reminders_list
_.reminders_done
_.batches_import
_.batches_list
_.books_check
_.eod
_.health
_.app_from_environment
_.serve
_.token_type
_.holds
_.problem_amount
_.emergency_grants
# fpdf2 reads these of the notice font copied for each PDF (adapters/delivery).
_.missing_glyphs
_.biggest_size_pt
_.subset
# tarfile reads a member's link target (the API tests build unsafe archives).
_.linkname
# Commands that are one function each, loaded by name from LAZY_COMMANDS (entrypoints/cli/main.py).
_.logout
# pytest reads a module's marks by name.
_.pytestmark
# The watch's API routes and the field a flow halt's answer carries (issue 19).
_.alerts_list
_.alerts_review
_.alerts_halt
_.flow_halt_id
# pytest-xdist calls its hook and the scheduler's scope rule (tests/conftest.py, xdist_modules.py).
_.pytest_xdist_make_scheduler
_._split_scope
