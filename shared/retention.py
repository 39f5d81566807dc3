"""Retention: sent outbox rows and inbox rows are deleted once they are old enough.

Small batches, each its own short transaction, rows taken with FOR UPDATE SKIP LOCKED: the
pruner never waits on the relay (it only touches rows marked sent, which the relay no longer
reads) nor on a consumer (a claim in progress is skipped), and several instances prune side
by side. Ages are measured by the database clock, the one that wrote sent_at and
processed_at. Parked outbox rows are never pruned: they wait for an operator. A service adds
its own expiring rows (identity's finished login flows) as `Expiring` tables.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.inbox import inbox_table
from shared.logging import get_logger
from shared.outbox import outbox_table

log = get_logger(__name__)


@dataclass(frozen=True)
class Pruned:
    outbox: int
    inbox: int
    batches: int
    expired: int = 0


@dataclass(frozen=True)
class Expiring:
    """A service's own table whose rows are deleted `retention_s` after `column` (a
    timestamp, e.g. an expiry) has passed; `key` is its primary key column."""

    table: sa.Table
    column: str
    key: str
    retention_s: float


def _older_than(column: sa.ColumnElement[object], seconds: float) -> sa.ColumnElement[bool]:
    return column < sa.func.now() - sa.func.make_interval(0, 0, 0, 0, 0, 0, seconds)


class RetentionPruner:
    """Every interval, deletes what is past retention, batch by batch, until none is left."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        outbox_retention_s: float,
        inbox_retention_s: float,
        batch_size: int,
        interval_s: float,
        expiring: Sequence[Expiring] = (),
    ) -> None:
        self._engine = engine
        self._batch_size = batch_size
        self._interval_s = interval_s
        o, i = outbox_table, inbox_table
        old_sent = (
            sa.select(o.c.id)
            .where(o.c.sent_at.is_not(None), _older_than(o.c.sent_at, outbox_retention_s))
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
        self._outbox_batch = sa.delete(o).where(o.c.id.in_(old_sent.scalar_subquery()))
        old_claims = (
            sa.select(i.c.consumer, i.c.event_id)
            .where(_older_than(i.c.processed_at, inbox_retention_s))
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
        self._inbox_batch = sa.delete(i).where(
            sa.tuple_(i.c.consumer, i.c.event_id).in_(old_claims)
        )
        self._expiring = [self._expired_batch(e, batch_size) for e in expiring]
        self._task: asyncio.Task[None] | None = None

    @staticmethod
    def _expired_batch(expiring: Expiring, batch_size: int) -> sa.Delete:
        table, key = expiring.table, expiring.table.c[expiring.key]
        old = (
            sa.select(key)
            .where(_older_than(table.c[expiring.column], expiring.retention_s))
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
        return sa.delete(table).where(key.in_(old.scalar_subquery()))

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="retention-pruner")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        while True:
            try:
                pruned = await self.prune()
                if pruned.outbox or pruned.inbox or pruned.expired:
                    log.info(
                        "retention_pruned",
                        outbox=pruned.outbox,
                        inbox=pruned.inbox,
                        expired=pruned.expired,
                        batches=pruned.batches,
                    )
            except Exception as exc:
                log.warning("retention_prune_failed", error=f"{type(exc).__name__}: {exc}"[:500])
            await asyncio.sleep(self._interval_s)

    async def prune(self) -> Pruned:
        """Delete everything past retention now, one small transaction per batch."""
        outbox, batches_o = await self._drain(self._outbox_batch)
        inbox, batches_i = await self._drain(self._inbox_batch)
        expired = batches_e = 0
        for statement in self._expiring:
            count, batches = await self._drain(statement)
            expired, batches_e = expired + count, batches_e + batches
        return Pruned(
            outbox=outbox, inbox=inbox, batches=batches_o + batches_i + batches_e, expired=expired
        )

    async def _drain(self, statement: sa.Delete) -> tuple[int, int]:
        deleted = batches = 0
        while True:
            async with self._engine.begin() as conn:
                count = (await conn.execute(statement)).rowcount
            deleted += count
            batches += 1
            if count < self._batch_size:
                return deleted, batches
            await asyncio.sleep(0)  # let the relay and the consumers run between batches
