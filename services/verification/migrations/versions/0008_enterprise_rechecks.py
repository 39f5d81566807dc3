"""RN-13: periodic re-checks of verified enterprises against the registry: when each was
last checked and the notice pending on it; the sweep's timer, seeded once here (it
schedules its next run itself)."""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "enterprise_rechecks",
        sa.Column("account_id", sa.Text, primary_key=True),
        sa.Column("checked_at", TZ, nullable=False),
        sa.Column("notice_reason", sa.Text),
        sa.Column("noticed_at", TZ),
    )
    op.execute(
        "INSERT INTO timers (kind, account_id, ref, state, due_at, created_at, attempts) "
        "VALUES ('enterprise_recheck_sweep', '-', 'all', 'scheduled', now(), now(), 0)"
    )


def downgrade() -> None:
    op.execute("DELETE FROM timers WHERE kind = 'enterprise_recheck_sweep'")
    op.drop_table("enterprise_rechecks")
