"""CAN-6, CAN-7, operators: the operator's reason of a rejection, the erasure confirmations,
the operators' audit trail; the registration method becomes erasable."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("applications", sa.Column("operator_reason", sa.Text))
    op.create_index(
        "applications_by_state", "applications", ["state", "requested_at", "application_id"]
    )
    op.alter_column("accounts", "registration_method", nullable=True)
    op.create_table(
        "erasures",
        sa.Column("application_id", sa.Text, primary_key=True),
        sa.Column("service", sa.Text, primary_key=True),
        sa.Column("erased_at", TZ, nullable=False),
        sa.Column("kept", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("recorded_at", TZ, nullable=False),
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
    op.drop_table("operator_actions")
    op.drop_table("erasures")
    op.alter_column("accounts", "registration_method", nullable=False)
    op.drop_index("applications_by_state", "applications")
    op.drop_column("applications", "operator_reason")
