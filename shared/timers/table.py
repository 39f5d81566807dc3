"""The timers table, declared in a service's own metadata (its migration creates it)."""

from __future__ import annotations

import sqlalchemy as sa

TZ = sa.DateTime(timezone=True)


def timers_table(metadata: sa.MetaData, name: str = "timers") -> sa.Table:
    """Due rows: `scheduled` until claimed, `claimed` until the lease runs out or the effect
    ends it `done`; `cancelled` when the thing ended first. At most one live (scheduled or
    claimed) row per (kind, ref)."""
    return sa.Table(
        name,
        metadata,
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
        sa.Index(f"{name}_due", "due_at", postgresql_where=sa.text("state = 'scheduled'")),
        sa.Index(f"{name}_leased", "lease_until", postgresql_where=sa.text("state = 'claimed'")),
        sa.Index(
            f"{name}_one_live_per_ref",
            "kind",
            "ref",
            unique=True,
            postgresql_where=sa.text("state IN ('scheduled', 'claimed')"),
        ),
    )
