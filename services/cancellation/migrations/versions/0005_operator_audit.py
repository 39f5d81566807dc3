"""One operator audit (shared/operator_audit.py): subject is required (a row without one is
backfilled with `account:<id>`), structured `details`, and an index by account (the
erasure finds an account's rows by it)."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE operator_actions SET subject = 'account:' || coalesce(account_id, 'unknown') "
        "WHERE subject IS NULL"
    )
    op.alter_column("operator_actions", "subject", nullable=False)
    op.add_column("operator_actions", sa.Column("details", JSONB))
    op.create_index("operator_actions_by_account", "operator_actions", ["account_id", "at"])


def downgrade() -> None:
    op.drop_index("operator_actions_by_account", "operator_actions")
    op.drop_column("operator_actions", "details")
    op.alter_column("operator_actions", "subject", nullable=True)
