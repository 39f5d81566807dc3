"""A password lock's end kept with the account (survives a Redis loss); summarised history."""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "accounts", sa.Column("password_locked_until", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "accounts",
        sa.Column(
            "password_lock_until_reset", sa.Boolean, nullable=False, server_default=sa.false()
        ),
    )
    op.add_column(
        "login_attempts",
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("1")),
    )


def downgrade() -> None:
    op.drop_column("login_attempts", "attempts")
    op.drop_column("accounts", "password_lock_until_reset")
    op.drop_column("accounts", "password_locked_until")
