"""Real-name changes (RN-9, RN-10): verification's projection of billing's standing (the
newest as_of per account), and quota claims that let a change reserve its new place while
the account still holds its old one (one reserved and one held claim per account and kind,
instead of one live claim)."""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "billing_standings",
        sa.Column("account_id", sa.Text, primary_key=True),
        sa.Column("overdue_fen", sa.BigInteger, nullable=False),
        sa.Column("advance_payment_fen", sa.BigInteger, nullable=False),
        sa.Column("as_of", TZ, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
    )
    op.drop_index("quota_claims_one_live_per_account", table_name="quota_claims")
    op.create_index(
        "quota_claims_one_reserved_per_account",
        "quota_claims",
        ["kind", "account_id"],
        unique=True,
        postgresql_where=sa.text("state = 'reserved'"),
    )
    op.create_index(
        "quota_claims_one_held_per_account",
        "quota_claims",
        ["kind", "account_id"],
        unique=True,
        postgresql_where=sa.text("state = 'held'"),
    )


def downgrade() -> None:
    op.drop_index("quota_claims_one_held_per_account", table_name="quota_claims")
    op.drop_index("quota_claims_one_reserved_per_account", table_name="quota_claims")
    op.create_index(
        "quota_claims_one_live_per_account",
        "quota_claims",
        ["kind", "account_id"],
        unique=True,
        postgresql_where=sa.text("state <> 'released'"),
    )
    op.drop_table("billing_standings")
