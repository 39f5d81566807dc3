"""Parked outbox rows; indexes for pruning sent outbox rows and old inbox rows."""

from shared.migrations import add_outbox_parking_and_retention, drop_outbox_parking_and_retention

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_outbox_parking_and_retention()


def downgrade() -> None:
    drop_outbox_parking_and_retention()
