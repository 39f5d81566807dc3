"""One operator audit (shared/operator_audit.py): account_id becomes text as in the other
services (the string form every event carries), subject is required (a row without one is
backfilled with `account:<id>`), structured `details`, and an index by subject."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE operator_actions SET subject = 'account:' || account_id WHERE subject IS NULL"
    )
    op.alter_column("operator_actions", "subject", nullable=False)
    op.alter_column(
        "operator_actions",
        "account_id",
        type_=sa.Text,
        nullable=True,
        postgresql_using="account_id::text",
    )
    op.add_column("operator_actions", sa.Column("details", JSONB))
    op.create_index("operator_actions_by_subject", "operator_actions", ["subject", "at"])


def downgrade() -> None:
    op.drop_index("operator_actions_by_subject", "operator_actions")
    op.drop_column("operator_actions", "details")
    op.execute("DELETE FROM operator_actions WHERE account_id IS NULL")
    op.alter_column(
        "operator_actions",
        "account_id",
        type_=sa.BigInteger,
        nullable=False,
        postgresql_using="account_id::bigint",
    )
    op.alter_column("operator_actions", "subject", nullable=True)
