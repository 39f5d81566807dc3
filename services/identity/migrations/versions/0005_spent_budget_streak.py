"""A spent failure budget is kept with the name of the streak that spent it (LOGIN-4)."""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("password_lock_streak", sa.BigInteger, nullable=True))


def downgrade() -> None:
    op.drop_column("accounts", "password_lock_streak")
