"""RN-12: sub-accounts as CAM reports them (created by a root account: inherits its real
name; an existing account associated: verifies itself)."""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sub_accounts",
        sa.Column("account_id", sa.Text, primary_key=True),
        sa.Column("root_account_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("sub_accounts_by_root", "sub_accounts", ["root_account_id", "kind"])


def downgrade() -> None:
    op.drop_table("sub_accounts")
