"""Idempotent consumers: the processed event_id commits with the handler's effect."""

from __future__ import annotations

import uuid

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


async def claim_event(conn: AsyncConnection, consumer: str, event_id: uuid.UUID) -> bool:
    """Record the event as processed by this consumer; False when it already was.

    Call it first in the handler's transaction: a concurrent duplicate blocks on the primary
    key until this transaction ends, then finds the row and skips.
    """
    result = await conn.execute(
        postgresql.insert(inbox_table)
        .values(consumer=consumer, event_id=event_id)
        .on_conflict_do_nothing()
        .returning(inbox_table.c.event_id)
    )
    return result.first() is not None
