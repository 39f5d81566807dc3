"""Real-name status and history (RN-1, RN-16), personal identities sealed (RN-2..4, RN-17),
identity quotas (RN-3, RN-7), and the accounts' status projection (ACC-3)."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)

APPEND_ONLY = (
    """
CREATE FUNCTION real_name_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'real_name_history is append-only (RN-1)';
END $$
""",
    """
CREATE TRIGGER real_name_history_append_only BEFORE UPDATE OR DELETE ON real_name_history
    FOR EACH ROW EXECUTE FUNCTION real_name_history_append_only()
""",
)


def upgrade() -> None:
    op.add_column("accounts", sa.Column("status", sa.Text, nullable=False, server_default="active"))
    op.add_column(
        "accounts",
        sa.Column("frozen_reasons", postgresql.ARRAY(sa.Text), nullable=False, server_default="{}"),
    )
    op.add_column("accounts", sa.Column("status_changed_at", TZ))
    op.create_table(
        "real_names",
        sa.Column("account_id", sa.Text, primary_key=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("subject", sa.Text),
        sa.Column("method", sa.Text),
        sa.Column("verified_at", TZ),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.execute(
        "INSERT INTO real_names (account_id, status, updated_at) "
        "SELECT account_id, 'unverified', registered_at FROM accounts"
    )
    op.create_table(
        "real_name_history",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("previous_status", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("subject", sa.Text),
        sa.Column("method", sa.Text),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("details", postgresql.JSONB, nullable=False, server_default="{}"),
    )
    op.create_index("real_name_history_by_account", "real_name_history", ["account_id", "id"])
    for statement in APPEND_ONLY:
        op.execute(statement)
    op.create_table(
        "personal_identities",
        sa.Column("account_id", sa.Text, primary_key=True),
        sa.Column("region", sa.Text, nullable=False),
        sa.Column("document_kind", sa.Text, nullable=False),
        sa.Column("name_masked", sa.Text, nullable=False),
        sa.Column("document_masked", sa.Text, nullable=False),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
        sa.Column("key_id", sa.Text, nullable=False),
        sa.Column("fingerprint", sa.Text, nullable=False),
        sa.Column("verified_at", TZ, nullable=False),
    )
    op.create_table(
        "quota_keys",
        sa.Column("kind", sa.Text, primary_key=True),
        sa.Column("key_hash", sa.Text, primary_key=True),
        sa.Column("limit_override", sa.Integer),
    )
    op.create_table(
        "quota_claims",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("key_hash", sa.Text, nullable=False),
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("lease_until", TZ),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_index("quota_claims_by_key", "quota_claims", ["kind", "key_hash", "state"])
    op.create_index(
        "quota_claims_one_live_per_account",
        "quota_claims",
        ["kind", "account_id"],
        unique=True,
        postgresql_where=sa.text("state <> 'released'"),
    )


def downgrade() -> None:
    op.drop_table("quota_claims")
    op.drop_table("quota_keys")
    op.drop_table("personal_identities")
    op.drop_table("real_name_history")
    op.execute("DROP FUNCTION real_name_history_append_only()")
    op.drop_table("real_names")
    for column in ("status_changed_at", "frozen_reasons", "status"):
        op.drop_column("accounts", column)
