"""Passwords, secure and contact channels, status, login history, devices, projects."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

QUOTA_ONE_KINDS = "('qq', 'email', 'wecom', 'official_account')"


def upgrade() -> None:
    op.add_column(
        "accounts",
        sa.Column(
            "frozen_reasons",
            postgresql.ARRAY(sa.Text),
            nullable=False,
            server_default=sa.text("'{}'::text[]"),
        ),
    )
    for name in ("password_hash", "secure_phone", "secure_email", "message_phone"):
        op.add_column("accounts", sa.Column(name, sa.Text, nullable=True))
    op.add_column(
        "accounts",
        sa.Column("real_name_status", sa.Text, nullable=False, server_default="unverified"),
    )
    op.add_column("accounts", sa.Column("last_login_at", sa.DateTime(timezone=True)))
    op.add_column("accounts", sa.Column("cancelled_at", sa.DateTime(timezone=True)))
    op.create_index("accounts_secure_phone", "accounts", ["secure_phone"])

    op.add_column("login_methods", sa.Column("subtype", sa.Text, nullable=True))
    op.add_column("login_methods", sa.Column("display", sa.Text, nullable=False, server_default=""))
    op.drop_index("login_methods_email_once", table_name="login_methods")
    # LM-2: QQ, email, WeCom and Official Account identities bind one account each; the
    # WeChat quota (50) is counted under an advisory lock in the repository.
    op.create_index(
        "login_methods_quota_one",
        "login_methods",
        ["kind", "identifier"],
        unique=True,
        postgresql_where=sa.text(f"kind IN {QUOTA_ONE_KINDS}"),
    )
    op.create_index("login_methods_identity", "login_methods", ["kind", "identifier"])

    op.create_table(
        "login_attempts",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("account_id", sa.BigInteger, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method", sa.Text, nullable=False),
        sa.Column("device_id", sa.Text),
        sa.Column("ip", sa.Text),
        sa.Column("result", sa.Text, nullable=False),
        sa.Column("reason", sa.Text),
    )
    op.create_index("login_attempts_by_account", "login_attempts", ["account_id", "at"])
    op.create_table(
        "known_devices",
        sa.Column("account_id", sa.BigInteger, primary_key=True),
        sa.Column("device_id", sa.Text, primary_key=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "projects",
        sa.Column("project_id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("account_id", sa.BigInteger, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("account_id", "name", name="projects_name_per_account"),
    )


def downgrade() -> None:
    op.drop_table("projects")
    op.drop_table("known_devices")
    op.drop_table("login_attempts")
    op.drop_index("login_methods_identity", table_name="login_methods")
    op.drop_index("login_methods_quota_one", table_name="login_methods")
    op.drop_column("login_methods", "display")
    op.drop_column("login_methods", "subtype")
    for name in (
        "cancelled_at",
        "last_login_at",
        "real_name_status",
        "message_phone",
        "secure_email",
        "secure_phone",
        "password_hash",
        "frozen_reasons",
    ):
        op.drop_column("accounts", name)
