"""Timers (ARCHITECTURE "Timers"): the erasures' due rows move to the shared `timers` table
(shared/timers); `erasures` stays the record of each erasure (application, bound, when,
forced, confirmed) without the claim columns. A pending erasure becomes a scheduled
`erasure` timer (a claimed one is due when its lease ends)."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
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
    op.execute(
        """INSERT INTO timers (kind, account_id, ref, state, due_at, attempts, created_at)
        SELECT 'erasure', account_id, account_id, 'scheduled',
               CASE WHEN state = 'claimed' THEN coalesce(lease_until, due_at) ELSE due_at END,
               0, requested_at
        FROM erasures WHERE state IN ('scheduled', 'claimed')"""
    )
    op.drop_index("erasures_due", "erasures")
    op.drop_index("erasures_leased", "erasures")
    for column in ("state", "due_at", "lease_until", "claim_token", "attempts"):
        op.drop_column("erasures", column)


def downgrade() -> None:
    op.add_column("erasures", sa.Column("state", sa.Text))
    op.add_column("erasures", sa.Column("due_at", TZ))
    op.add_column("erasures", sa.Column("lease_until", TZ))
    op.add_column("erasures", sa.Column("claim_token", postgresql.UUID(as_uuid=True)))
    op.add_column("erasures", sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
    op.execute(
        """UPDATE erasures e SET
            state = CASE WHEN e.erased_at IS NULL THEN 'scheduled' ELSE 'done' END,
            due_at = coalesce(
                (SELECT t.due_at FROM timers t WHERE t.kind = 'erasure' AND t.ref = e.account_id
                 AND t.state IN ('scheduled', 'claimed')),
                e.erase_by)"""
    )
    op.alter_column("erasures", "state", nullable=False)
    op.alter_column("erasures", "due_at", nullable=False)
    op.create_index(
        "erasures_due", "erasures", ["due_at"], postgresql_where=sa.text("state = 'scheduled'")
    )
    op.create_index(
        "erasures_leased",
        "erasures",
        ["lease_until"],
        postgresql_where=sa.text("state = 'claimed'"),
    )
    op.drop_table("timers")
