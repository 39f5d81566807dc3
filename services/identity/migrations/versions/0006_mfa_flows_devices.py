"""MFA devices, login/step-up flows, issued devices, recovery appeals, operator audit, and
the protection settings (issue 9: MFA-1..6, LOGIN-5/6, PROT-1, REC-2)."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _account_fk() -> "sa.Column[int]":
    return sa.Column(
        "account_id", sa.BigInteger, sa.ForeignKey("accounts.account_id"), nullable=False
    )


def upgrade() -> None:
    for column in ("login_protection", "operation_protection"):
        op.add_column(
            "accounts", sa.Column(column, sa.Boolean, nullable=False, server_default=sa.false())
        )
    op.create_table(
        "mfa_devices",
        sa.Column(
            "account_id", sa.BigInteger, sa.ForeignKey("accounts.account_id"), primary_key=True
        ),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("secret_ciphertext", sa.LargeBinary, nullable=False),
        sa.Column("key_id", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("activated_at", TZ, nullable=True),
    )
    op.create_table(
        "auth_flows",
        sa.Column("flow_id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        _account_fk(),
        sa.Column("session_id", sa.Text, nullable=True),
        sa.Column("method", sa.Text, nullable=False),
        sa.Column("aal", sa.SmallInteger, nullable=False),
        sa.Column("amr", postgresql.ARRAY(sa.Text), nullable=False),
        sa.Column("device_id", sa.Text, nullable=True),
        sa.Column("ip", sa.Text, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("completed_at", TZ, nullable=True),
    )
    op.create_index("auth_flows_expiry", "auth_flows", ["expires_at"])
    op.create_table(
        "devices",
        sa.Column("device_pk", postgresql.UUID(as_uuid=True), primary_key=True),
        _account_fk(),
        sa.Column("credential_hash", sa.Text, nullable=False, unique=True),
        sa.Column("label", sa.Text, nullable=True),
        sa.Column("first_seen_at", TZ, nullable=False),
        sa.Column("last_seen_at", TZ, nullable=False),
        sa.Column("trusted_until", TZ, nullable=True),
    )
    op.create_index("devices_by_account", "devices", ["account_id"])
    op.create_table(
        "recovery_appeals",
        sa.Column("appeal_id", postgresql.UUID(as_uuid=True), primary_key=True),
        _account_fk(),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("email_key", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("reset_mfa", sa.Boolean, nullable=False),
        sa.Column("statement", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("ip", sa.Text, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("decided_at", TZ, nullable=True),
        sa.Column("decided_by", sa.Text, nullable=True),
        sa.Column("decision_reason", sa.Text, nullable=True),
    )
    op.create_index("recovery_appeals_by_status", "recovery_appeals", ["status", "created_at"])
    op.create_index("recovery_appeals_by_account", "recovery_appeals", ["account_id"])
    op.create_table(
        "operator_actions",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("operator_id", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("account_id", sa.BigInteger, nullable=False),
        sa.Column("subject", sa.Text, nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
    )
    op.create_index("operator_actions_by_account", "operator_actions", ["account_id", "at"])


def downgrade() -> None:
    for table in ("operator_actions", "recovery_appeals", "devices", "auth_flows", "mfa_devices"):
        op.drop_table(table)
    for column in ("operation_protection", "login_protection"):
        op.drop_column("accounts", column)
