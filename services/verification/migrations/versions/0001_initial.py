"""Accounts projection, outbox and inbox."""

import sqlalchemy as sa
from alembic import op

from shared.migrations import create_reliability_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_reliability_tables()
    op.create_table(
        "accounts",
        sa.Column("account_id", sa.Text, primary_key=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registration_method", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("accounts")
    op.drop_table("inbox")
    op.drop_table("outbox")
