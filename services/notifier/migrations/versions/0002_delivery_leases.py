"""Deliveries: masked destination, sending leases, provider reference, audit indexes."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("destination_masked", sa.Text))
    op.add_column("deliveries", sa.Column("lease_until", sa.DateTime(timezone=True)))
    op.add_column("deliveries", sa.Column("claim_token", postgresql.UUID(as_uuid=True)))
    op.add_column("deliveries", sa.Column("provider_ref", sa.Text))
    op.create_index(
        "deliveries_leased",
        "deliveries",
        ["lease_until"],
        postgresql_where=sa.text("status = 'sending'"),
    )
    op.create_index("deliveries_by_time", "deliveries", ["created_at"])
    op.create_index("deliveries_by_type", "deliveries", ["message_type", "created_at"])


def downgrade() -> None:
    op.drop_index("deliveries_by_type", "deliveries")
    op.drop_index("deliveries_by_time", "deliveries")
    op.drop_index("deliveries_leased", "deliveries")
    op.drop_column("deliveries", "provider_ref")
    op.drop_column("deliveries", "claim_token")
    op.drop_column("deliveries", "lease_until")
    op.drop_column("deliveries", "destination_masked")
