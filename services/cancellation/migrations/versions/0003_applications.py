"""Account status, the external standings (EXT), sub-accounts, applications and timers."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("accounts", sa.Column("status", sa.Text, nullable=False, server_default="active"))
    op.add_column(
        "accounts",
        sa.Column("frozen_reasons", ARRAY(sa.Text), nullable=False, server_default="{}"),
    )
    op.add_column("accounts", sa.Column("status_changed_at", TZ))
    op.create_table(
        "standings",
        sa.Column("account_id", sa.Text, primary_key=True),
        sa.Column("producer", sa.Text, primary_key=True),
        sa.Column("as_of", TZ, nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
    )
    op.create_table(
        "sub_accounts",
        sa.Column("account_id", sa.Text, primary_key=True),
        sa.Column("root_account_id", sa.Text, nullable=False),
        sa.Column("link", sa.Text, nullable=False),
        sa.Column("linked_at", TZ, nullable=False),
    )
    op.create_table(
        "applications",
        sa.Column("application_id", sa.Text, primary_key=True),
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("requested_at", TZ, nullable=False),
        sa.Column("cooling_off_ends_at", TZ, nullable=False),
        sa.Column("ended_at", TZ),
        sa.Column("reasons", ARRAY(sa.Text), nullable=False, server_default="{}"),
    )
    op.create_index(
        "applications_one_open_per_account",
        "applications",
        ["account_id"],
        unique=True,
        postgresql_where=sa.text("state = 'cooling_off'"),
    )
    op.create_index("applications_by_account", "applications", ["account_id", "requested_at"])
    op.create_table(
        "timers",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("ref", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("due_at", TZ, nullable=False),
        sa.Column("lease_until", TZ),
        sa.Column("claim_token", sa.Uuid),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("done_at", TZ),
    )
    op.create_index(
        "timers_due", "timers", ["due_at"], postgresql_where=sa.text("state = 'scheduled'")
    )
    op.create_index(
        "timers_leased", "timers", ["lease_until"], postgresql_where=sa.text("state = 'claimed'")
    )
    op.create_index(
        "timers_one_live_per_ref",
        "timers",
        ["kind", "ref"],
        unique=True,
        postgresql_where=sa.text("state IN ('scheduled', 'claimed')"),
    )


def downgrade() -> None:
    op.drop_table("timers")
    op.drop_table("applications")
    op.drop_table("sub_accounts")
    op.drop_table("standings")
    op.drop_column("accounts", "status_changed_at")
    op.drop_column("accounts", "frozen_reasons")
    op.drop_column("accounts", "status")
