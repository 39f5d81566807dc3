"""Deliveries remember the correlation id of their source event (traceable outcomes)."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("correlation_id", postgresql.UUID(as_uuid=True)))


def downgrade() -> None:
    op.drop_column("deliveries", "correlation_id")
