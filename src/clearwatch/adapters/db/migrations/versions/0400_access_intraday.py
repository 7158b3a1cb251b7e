"""Access control (users, roles, approvals, emergency grants) and intraday fund control.

Revision ID: 0400_access_intraday
Revises: 0001_audit_log
"""

import sqlalchemy as sa
from alembic import op

from clearwatch.adapters.db.append_only import allow_update_and_delete, refuse_update_and_delete

revision = "0400_access_intraday"
down_revision = "0001_audit_log"
branch_labels = ("access_intraday",)
depends_on = None

_APPEND_ONLY = (
    "access_emergency_grants",
    "intraday_lease_epochs",
    "intraday_start_of_day",
    "intraday_journal",
    "intraday_halts",
)
_BIG_COLUMNS = (
    "quantity",
    "price_milli",
    "cash_delta_fen",
    "frozen_cash_delta_fen",
    "proceeds_delta_fen",
    "shares_delta",
    "frozen_shares_delta",
)


def _access() -> None:
    _users()
    _approval_requests()
    _emergency_grants()
    # A decided request is history: only the pending → decided move may touch a row.
    _refuse_redeciding()


def _users() -> None:
    """People and the roles granted to them."""
    op.create_table(
        "access_users",
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("institution", sa.String(64), nullable=True),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_access_users")),
    )
    op.create_table(
        "access_user_roles",
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("granted_at", sa.String(40), nullable=False),
        sa.Column("granted_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "role", name=op.f("pk_access_user_roles")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["access_users.user_id"],
            name=op.f("fk_access_user_roles_user_id_access_users"),
        ),
    )


def _approval_requests() -> None:
    """Maker–checker requests; at most one pending per kind and subject."""
    op.create_table(
        "access_approval_requests",
        sa.Column("request_id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject_ref", sa.String(512), nullable=False),
        sa.Column("payload_json", sa.Text, nullable=False),
        sa.Column("maker", sa.String(64), nullable=False),
        sa.Column("requested_at", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("checker", sa.String(64), nullable=True),
        sa.Column("decided_at", sa.String(40), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_access_approval_requests")),
    )
    op.create_index(
        "uq_access_approval_requests_pending",
        "access_approval_requests",
        ["kind", "subject_ref"],
        unique=True,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_access_approval_requests_subject", "access_approval_requests", ["kind", "subject_ref"]
    )


def _emergency_grants() -> None:
    """Time-limited roles, each born of one approved request."""
    op.create_table(
        "access_emergency_grants",
        sa.Column("grant_id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.String(40), nullable=False),
        sa.Column("approval_request_id", sa.Integer, nullable=False),
        sa.Column("approved_at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("grant_id", name=op.f("pk_access_emergency_grants")),
        sa.UniqueConstraint(
            "approval_request_id", name=op.f("uq_access_emergency_grants_approval_request_id")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["access_users.user_id"],
            name=op.f("fk_access_emergency_grants_user_id_access_users"),
        ),
    )


def _refuse_redeciding() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(
            "CREATE TRIGGER access_approval_requests_refuse_redecide "
            "BEFORE UPDATE ON access_approval_requests WHEN OLD.status != 'pending' "
            "BEGIN SELECT RAISE(ABORT, 'access_approval_requests: a decided request "
            "is not changed'); END"
        )
        op.execute(
            "CREATE TRIGGER access_approval_requests_refuse_delete "
            "BEFORE DELETE ON access_approval_requests "
            "BEGIN SELECT RAISE(ABORT, 'access_approval_requests: DELETE refused'); END"
        )
    elif dialect == "postgresql":
        op.execute(
            """
            CREATE OR REPLACE FUNCTION clearwatch_refuse_redecide() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'DELETE' OR OLD.status <> 'pending' THEN
                    RAISE EXCEPTION '%: a decided request is not changed (%)', TG_TABLE_NAME, TG_OP;
                END IF;
                RETURN NEW;
            END
            $$
            """
        )
        op.execute(
            "CREATE TRIGGER access_approval_requests_refuse_redecide "
            "BEFORE UPDATE OR DELETE ON access_approval_requests "
            "FOR EACH ROW EXECUTE FUNCTION clearwatch_refuse_redecide()"
        )


def _intraday() -> None:
    _leases()
    _node_journal()
    _claims_and_central_figures()
    _halts()


def _leases() -> None:
    """Who runs each trading node now, and every epoch it ever had (fencing stale holders)."""
    op.create_table(
        "intraday_leases",
        sa.Column("node_id", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("epoch", sa.BigInteger, nullable=False),
        sa.Column("expires_at_us", sa.BigInteger, nullable=False),
        sa.Column("acquired_at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("node_id", name=op.f("pk_intraday_leases")),
    )
    op.create_table(
        "intraday_lease_epochs",
        sa.Column("node_id", sa.String(64), nullable=False),
        sa.Column("epoch", sa.BigInteger, nullable=False),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("move", sa.String(16), nullable=False),
        sa.Column("approval_request_id", sa.Integer, nullable=True),
        sa.Column("at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("node_id", "epoch", name=op.f("pk_intraday_lease_epochs")),
        sa.UniqueConstraint(
            "approval_request_id", name=op.f("uq_intraday_lease_epochs_approval_request_id")
        ),
    )


def _node_journal() -> None:
    """Each node's start of day and its journal of order events, replayed on takeover."""
    op.create_table(
        "intraday_start_of_day",
        sa.Column("node_id", sa.String(64), nullable=False),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("broker_id", sa.String(32), nullable=False),
        sa.Column("epoch", sa.BigInteger, nullable=False),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("clients", sa.Integer, nullable=False),
        sa.Column("cash_allocated_fen", sa.BigInteger, nullable=False),
        sa.Column("started_at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("node_id", "business_date", name=op.f("pk_intraday_start_of_day")),
    )
    op.create_table(
        "intraday_journal",
        sa.Column("node_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("epoch", sa.BigInteger, nullable=False),
        sa.Column("recorded_at_us", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("fund_account", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("side", sa.String(1), nullable=False),
        sa.Column("security", sa.String(32), nullable=False),
        *(sa.Column(name, sa.BigInteger, nullable=False) for name in _BIG_COLUMNS),
        sa.Column("commission_rate", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("node_id", "seq", name=op.f("pk_intraday_journal")),
    )
    op.create_index(
        "ix_intraday_journal_date_client", "intraday_journal", ["business_date", "fund_account"]
    )


def _claims_and_central_figures() -> None:
    """What each node holds for a client, and the central books it is checked against."""
    op.create_table(
        "intraday_claims",
        sa.Column("node_id", sa.String(64), nullable=False),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("broker_id", sa.String(32), nullable=False),
        sa.Column("fund_account", sa.String(64), nullable=False),
        sa.Column("asset", sa.String(32), nullable=False),
        sa.Column("quantity", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(
            "node_id", "business_date", "fund_account", "asset", name=op.f("pk_intraday_claims")
        ),
    )
    op.create_index(
        "ix_intraday_claims_date_client", "intraday_claims", ["business_date", "fund_account"]
    )
    op.create_table(
        "intraday_central_figures",
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("broker_id", sa.String(32), nullable=False),
        sa.Column("fund_account", sa.String(64), nullable=False),
        sa.Column("asset", sa.String(32), nullable=False),
        sa.Column("quantity", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(
            "business_date",
            "broker_id",
            "fund_account",
            "asset",
            name=op.f("pk_intraday_central_figures"),
        ),
    )


def _halts() -> None:
    """Clients halted when the nodes' claims exceed the central books, with the evidence."""
    op.create_table(
        "intraday_halts",
        sa.Column("halt_id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("broker_id", sa.String(32), nullable=False),
        sa.Column("fund_account", sa.String(64), nullable=False),
        sa.Column("raised_at", sa.String(40), nullable=False),
        sa.Column("raised_by", sa.String(128), nullable=False),
        sa.Column("evidence_json", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("halt_id", name=op.f("pk_intraday_halts")),
        sa.UniqueConstraint(
            "business_date",
            "broker_id",
            "fund_account",
            name=op.f("uq_intraday_halts_business_date_broker_id_fund_account"),
        ),
    )


def upgrade() -> None:
    _access()
    _intraday()
    for table in _APPEND_ONLY:
        refuse_update_and_delete(table)


def downgrade() -> None:
    for table in _APPEND_ONLY:
        allow_update_and_delete(table)
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS access_approval_requests_refuse_redecide")
        op.execute("DROP TRIGGER IF EXISTS access_approval_requests_refuse_delete")
    for table in (
        "intraday_halts",
        "intraday_central_figures",
        "intraday_claims",
        "intraday_journal",
        "intraday_start_of_day",
        "intraday_lease_epochs",
        "intraday_leases",
        "access_emergency_grants",
        "access_approval_requests",
        "access_user_roles",
        "access_users",
    ):
        op.drop_table(table)
