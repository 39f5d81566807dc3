"""Contacts projection, deliveries, outbox and inbox."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shared.migrations import create_reliability_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_reliability_tables()
    op.create_table(
        "contacts",
        sa.Column("account_id", sa.Text, primary_key=True),
        sa.Column("secure_phone", sa.Text),
        sa.Column("secure_email", sa.Text),
        sa.Column("message_phone", sa.Text),
        sa.Column("contact_email", sa.Text),
        sa.Column("language", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("source_event_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("message_type", sa.Text, nullable=False),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("destination", sa.Text),
        sa.Column("language", sa.Text),
        sa.Column("params", postgresql.JSONB, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("source_event_id", "channel", name="deliveries_once_per_channel"),
    )
    op.create_index(
        "deliveries_due",
        "deliveries",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'queued'"),
    )
    op.create_index("deliveries_by_account", "deliveries", ["account_id", "created_at"])


def downgrade() -> None:
    op.drop_table("deliveries")
    op.drop_table("contacts")
    op.drop_table("inbox")
    op.drop_table("outbox")
