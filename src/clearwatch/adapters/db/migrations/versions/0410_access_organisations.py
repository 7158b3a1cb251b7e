"""Users belong to one organisation (spec platform §1): SIPF, a bureau, CSRC, an institution, a BO.

Revision ID: 0410_access_organisations
Revises: 0400_access_intraday
"""

import sqlalchemy as sa
from alembic import op

revision = "0410_access_organisations"
down_revision = "0400_access_intraday"
branch_labels = None
depends_on = None

# Users registered before organisations existed held back-office roles (or `analyst`, the
# monitor's): they go to their broker's back office, an analyst to SIPF, anyone else to a
# placeholder back office that an admin can see and re-register.
_LEGACY_ORGANISATION = sa.text(
    "UPDATE access_users SET organisation = CASE"
    " WHEN institution IS NOT NULL THEN 'BO:' || institution"
    " WHEN EXISTS (SELECT 1 FROM access_user_roles r"
    "   WHERE r.user_id = access_users.user_id AND r.role = 'analyst') THEN 'SIPF'"
    " ELSE 'BO:LOCAL' END"
    " WHERE organisation IS NULL"
)


def upgrade() -> None:
    # A plain added column, no table rebuild: access_users is referenced by roles and grants,
    # and rebuilding a referenced table under SQLite's foreign keys is what we avoid. The
    # service refuses a user without an organisation; the column stays nullable only for this.
    op.add_column("access_users", sa.Column("organisation", sa.String(64), nullable=True))
    op.execute(_LEGACY_ORGANISATION)
    op.create_index("ix_access_users_organisation", "access_users", ["organisation"])


def downgrade() -> None:
    op.drop_index("ix_access_users_organisation", table_name="access_users")
    with op.batch_alter_table("access_users") as batch:
        batch.drop_column("organisation")
