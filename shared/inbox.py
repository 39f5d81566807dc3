"""Idempotent consumers: the processed event_ids commit with the handlers' effects."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

_metadata = sa.MetaData()
inbox_table = sa.Table(
    "inbox",
    _metadata,
    sa.Column("consumer", sa.Text, primary_key=True),
    sa.Column("event_id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column(
        "processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.Index("inbox_processed", "processed_at"),  # retention prunes by age
)

_ids = sa.bindparam("ids", type_=postgresql.ARRAY(postgresql.UUID(as_uuid=True)))


async def claim_events(
    conn: AsyncConnection, consumer: str, event_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Record the events as processed by this consumer, in one statement; returns the ids
    that were not yet (the ones to act on).

    Call it first in the handlers' transaction: a concurrent duplicate blocks on the primary
    key until this transaction ends, then finds the rows and skips them. An id repeated in
    `event_ids` is claimed once.
    """
    rows = sa.select(sa.literal(consumer, sa.Text), sa.func.unnest(_ids))
    result = await conn.execute(
        postgresql.insert(inbox_table)
        .from_select(["consumer", "event_id"], rows)
        .on_conflict_do_nothing()
        .returning(inbox_table.c.event_id),
        {"ids": list(event_ids)},
    )
    return set(result.scalars())
