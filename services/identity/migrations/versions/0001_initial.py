"""Accounts, login methods, outbox and inbox."""

import sqlalchemy as sa
from alembic import op

from shared.migrations import create_reliability_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_reliability_tables()
    op.execute("CREATE SEQUENCE account_id_seq START WITH 100000000001")
    op.create_table(
        "accounts",
        sa.Column("account_id", sa.BigInteger, primary_key=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("nickname", sa.Text, nullable=True),
        sa.Column("language", sa.Text, nullable=False),
        sa.Column("contact_email", sa.Text, nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "login_methods",
        sa.Column(
            "account_id", sa.BigInteger, sa.ForeignKey("accounts.account_id"), primary_key=True
        ),
        sa.Column("kind", sa.Text, primary_key=True),
        sa.Column("identifier", sa.Text, nullable=False),
        sa.Column("bound_at", sa.DateTime(timezone=True), nullable=False),
    )
    # LM-2 quota of 1 for email: one account per email identifier.
    op.create_index(
        "login_methods_email_once",
        "login_methods",
        ["identifier"],
        unique=True,
        postgresql_where=sa.text("kind = 'email'"),
    )


def downgrade() -> None:
    op.drop_table("login_methods")
    op.drop_table("accounts")
    op.execute("DROP SEQUENCE account_id_seq")
    op.drop_table("inbox")
    op.drop_table("outbox")
