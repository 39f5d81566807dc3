"""Erasure (CAN-7): the due rows of the notifier's erasures; contacts remember a tombstone."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("contacts", sa.Column("tombstoned_at", sa.DateTime(timezone=True)))
    op.create_table(
        "erasures",
        sa.Column("account_id", sa.Text, primary_key=True),
        sa.Column("application_id", sa.Text),
        sa.Column("source_event_id", postgresql.UUID(as_uuid=True)),
        sa.Column("correlation_id", postgresql.UUID(as_uuid=True)),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erase_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True)),
        sa.Column("claim_token", postgresql.UUID(as_uuid=True)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("erased_at", sa.DateTime(timezone=True)),
        sa.Column("forced", sa.Boolean),
        sa.Column("confirmed_at", sa.DateTime(timezone=True)),
    )
    op.create_index(
        "erasures_due", "erasures", ["due_at"], postgresql_where=sa.text("state = 'scheduled'")
    )
    op.create_index(
        "erasures_leased",
        "erasures",
        ["lease_until"],
        postgresql_where=sa.text("state = 'claimed'"),
    )


def downgrade() -> None:
    op.drop_table("erasures")
    op.drop_column("contacts", "tombstoned_at")
