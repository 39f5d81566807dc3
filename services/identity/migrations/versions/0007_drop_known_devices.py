"""known_devices (a client-chosen device id per account) gives way to `devices`, which
recognises a device by the credential identity issued to it (LOGIN-6)."""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("known_devices")


def downgrade() -> None:
    op.create_table(
        "known_devices",
        sa.Column("account_id", sa.BigInteger, primary_key=True),
        sa.Column("device_id", sa.Text, primary_key=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
    )
