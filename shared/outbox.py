"""Transactional outbox: events commit with the state change; a relay publishes them.

No dual writes: a handler writes its rows and its outbox rows in one transaction. The relay
reads unsent rows in id order, publishes them (acks=all, key = account_id) and marks them
sent. A crash between publish and mark republishes; consumers deduplicate by event_id.
One relay per service publishes at a time (a PostgreSQL advisory lock), so per-account order
holds when several instances run.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from typing import Any

import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.events.envelope import Envelope, encode, headers_of
from shared.logging import get_logger

log = get_logger(__name__)

_metadata = sa.MetaData()
outbox_table = sa.Table(
    "outbox",
    _metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("event_id", postgresql.UUID(as_uuid=True), nullable=False, unique=True),
    sa.Column("topic", sa.Text, nullable=False),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("value", sa.LargeBinary, nullable=True),
    sa.Column("headers", postgresql.JSONB, nullable=False),
    sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.Index("outbox_unsent", "id", postgresql_where=sa.text("sent_at IS NULL")),
)


async def add_to_outbox(conn: AsyncConnection, topic: str, envelope: Envelope[Any]) -> None:
    """Queue an event in the caller's transaction."""
    await conn.execute(
        outbox_table.insert().values(
            event_id=envelope.event_id,
            topic=topic,
            key=envelope.account_id,
            value=encode(envelope),
            headers={k: v.decode() for k, v in headers_of(envelope)},
        )
    )


async def add_tombstone_to_outbox(
    conn: AsyncConnection, topic: str, key: str, event_id: Any
) -> None:
    """Queue a null-valued message (erases the key on a compacted topic)."""
    await conn.execute(
        outbox_table.insert().values(
            event_id=event_id, topic=topic, key=key, value=None, headers={}
        )
    )


class OutboxRelay:
    """Publishes the outbox to Kafka in order; wake() after a commit makes it look at once."""

    def __init__(
        self,
        engine: AsyncEngine,
        producer: AIOKafkaProducer,
        *,
        service: str,
        batch_size: int,
        poll_interval_s: float,
    ) -> None:
        self._engine = engine
        self._producer = producer
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._lock_key = zlib.crc32(f"outbox:{service}".encode())
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wakeup.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                published = await self.publish_batch()
                failures = 0
            except Exception:
                failures += 1
                log.exception("outbox_publish_failed", failures=failures)
                published = 0
                await asyncio.sleep(min(self._poll_interval_s * 2**failures, 30.0))
            if published < self._batch_size:
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self._poll_interval_s)

    async def publish_batch(self) -> int:
        """Publish up to one batch of unsent rows; returns how many were published."""
        async with self._engine.begin() as conn:
            leader = await conn.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(self._lock_key)))
            if not leader:
                return 0
            rows = (
                await conn.execute(
                    sa.select(
                        outbox_table.c.id,
                        outbox_table.c.topic,
                        outbox_table.c.key,
                        outbox_table.c.value,
                        outbox_table.c.headers,
                    )
                    .where(outbox_table.c.sent_at.is_(None))
                    .order_by(outbox_table.c.id)
                    .limit(self._batch_size)
                )
            ).all()
            if not rows:
                return 0
            # send() queues in order per partition; awaiting all acks keeps the batch atomic
            # from our side: on any failure nothing is marked and the whole batch is retried.
            futures = [
                await self._producer.send(
                    row.topic,
                    value=row.value,
                    key=row.key.encode(),
                    headers=[(k, str(v).encode()) for k, v in row.headers.items()],
                )
                for row in rows
            ]
            await asyncio.gather(*futures)
            await conn.execute(
                outbox_table.update()
                .where(outbox_table.c.id.in_([row.id for row in rows]))
                .values(sent_at=sa.func.now())
            )
            log.debug("outbox_published", count=len(rows))
            return len(rows)
