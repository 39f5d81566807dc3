"""Enterprise verification (RN-5..RN-8, RN-15): the verified enterprises, the pending
recharge and remittance attempts (bank accounts sealed, RN-17), the timers of their 7-day
windows (due rows claimed with a lease), and the operators' audit trail (RN-7 limits)."""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "enterprise_identities",
        sa.Column("account_id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("uscc", sa.Text, nullable=False),
        sa.Column("legal_person_name_masked", sa.Text, nullable=False),
        sa.Column("legal_person_region", sa.Text, nullable=False),
        sa.Column("legal_person_document_masked", sa.Text),
        sa.Column("sealed", sa.LargeBinary),
        sa.Column("key_id", sa.Text),
        sa.Column("method", sa.Text, nullable=False),
        sa.Column("verified_at", TZ, nullable=False),
    )
    op.create_table(
        "enterprise_attempts",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("method", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("uscc", sa.Text, nullable=False),
        sa.Column("legal_person_name_masked", sa.Text, nullable=False),
        sa.Column("legal_person_region", sa.Text, nullable=False),
        sa.Column("amount_fen", sa.Integer, nullable=False),
        sa.Column("tries_left", sa.Integer, nullable=False),
        sa.Column("bank_name", sa.Text),
        sa.Column("bank_account_masked", sa.Text),
        sa.Column("bank_sealed", sa.LargeBinary),
        sa.Column("bank_key_id", sa.Text),
        sa.Column("payment_id", sa.Text, unique=True),
        sa.Column("claim_id", sa.BigInteger, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("ended_at", TZ),
    )
    op.create_index(
        "enterprise_attempts_one_open_per_account",
        "enterprise_attempts",
        ["account_id"],
        unique=True,
        postgresql_where=sa.text("state = 'open'"),
    )
    op.create_table(
        "timers",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("ref", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("due_at", TZ, nullable=False),
        sa.Column("lease_until", TZ),
        sa.Column("claim_token", sa.Uuid),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("done_at", TZ),
    )
    op.create_index(
        "timers_due",
        "timers",
        ["due_at"],
        postgresql_where=sa.text("state = 'scheduled'"),
    )
    op.create_index(
        "timers_leased",
        "timers",
        ["lease_until"],
        postgresql_where=sa.text("state = 'claimed'"),
    )
    op.create_index(
        "timers_one_live_per_ref",
        "timers",
        ["kind", "ref"],
        unique=True,
        postgresql_where=sa.text("state IN ('scheduled', 'claimed')"),
    )
    op.create_table(
        "operator_actions",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("operator_id", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("account_id", sa.Text),
        sa.Column("subject", sa.Text),
        sa.Column("reason", sa.Text),
    )
    op.create_index("operator_actions_by_subject", "operator_actions", ["subject", "at"])


def downgrade() -> None:
    for table in ("operator_actions", "timers", "enterprise_attempts", "enterprise_identities"):
        op.drop_table(table)
