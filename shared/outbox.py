"""Transactional outbox: events commit with the state change; a relay publishes them.

No dual writes: a handler writes its rows and its outbox rows in one transaction. The relay
reads unsent rows in id order, a batch at a time, hands the whole batch to the producer
(acks=all, key = account_id; many in flight), waits for the acks and marks the batch sent in
one UPDATE. A crash between publish and mark republishes; consumers deduplicate by event_id.

One relay per service publishes (the leader: it holds a PostgreSQL session advisory lock on its
own connection; the other instances wait for the lock and, when they commit events, NOTIFY the
leader), so per-account order holds when several instances run. If the leader's connection
dies, its lock goes with it and another instance takes over.

Nothing blocks a topic: a row Kafka can never take (too large, an invalid topic or record) is
moved to `outbox_parked` with the reason, and the relay carries on with the next rows; any
other error (broker down, timeout, missing topic, authorisation) is retried with backoff,
because it would fail every row the same way. `account-center-outbox` lists and replays
parked rows.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    CorruptRecordException,
    InvalidTopicError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
    UnsupportedForMessageFormatError,
)
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
    sa.Index("outbox_sent", "sent_at", postgresql_where=sa.text("sent_at IS NOT NULL")),
)

# Rows the broker can never take, moved aside so the rows behind them go out; kept until an
# operator replays or drops them (account-center-outbox). `id` is the row's outbox id.
outbox_parked_table = sa.Table(
    "outbox_parked",
    _metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("event_id", postgresql.UUID(as_uuid=True), nullable=False, unique=True),
    sa.Column("topic", sa.Text, nullable=False),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("value", sa.LargeBinary, nullable=True),
    sa.Column("headers", postgresql.JSONB, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column(
        "parked_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
)

# The leader LISTENs here; a commit on another instance NOTIFYs it (outbox rows to publish).
WAKE_CHANNEL = "outbox_relay"

# Errors that say this one record can never be written: retrying cannot help, so the row is
# parked. Everything else (connection, timeout, leader moves, unknown topic, authorisation)
# would fail every row alike and is retried with backoff.
_PARK_REASONS: dict[type[Exception], str] = {
    MessageSizeTooLargeError: "message_too_large",
    RecordTooLargeError: "message_too_large",
    RecordListTooLargeError: "message_too_large",
    InvalidTopicError: "invalid_topic",
    CorruptRecordException: "invalid_record",
    UnsupportedForMessageFormatError: "invalid_record",
}


def park_reason(exc: BaseException) -> str | None:
    """The reason to park a row that failed with exc; None when the failure is transient."""
    for kind, reason in _PARK_REASONS.items():
        if isinstance(exc, kind):
            return reason
    return None


_INSERT = outbox_table.insert()


async def add_to_outbox(conn: AsyncConnection, topic: str, envelope: Envelope[Any]) -> None:
    """Queue an event in the caller's transaction."""
    # One statement object, values as parameters: SQLAlchemy reuses its compiled form
    # without building a new statement and cache key per event.
    await conn.execute(
        _INSERT,
        {
            "event_id": envelope.event_id,
            "topic": topic,
            "key": envelope.account_id,
            "value": encode(envelope),
            "headers": {k: v.decode() for k, v in headers_of(envelope)},
        },
    )


async def add_all_to_outbox(
    conn: AsyncConnection, topic: str, envelopes: Sequence[Envelope[Any]]
) -> None:
    """Queue several events in the caller's transaction, in one statement."""
    if not envelopes:
        return
    await conn.execute(
        outbox_table.insert(),
        [
            {
                "event_id": envelope.event_id,
                "topic": topic,
                "key": envelope.account_id,
                "value": encode(envelope),
                "headers": {k: v.decode() for k, v in headers_of(envelope)},
            }
            for envelope in envelopes
        ],
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


@dataclass(frozen=True)
class ParkedRow:
    id: int
    event_id: Any
    topic: str
    key: str
    event_type: str | None
    size: int
    created_at: Any
    parked_at: Any
    reason: str
    error: str


async def park_rows(conn: AsyncConnection, failures: Sequence[tuple[int, str, str]]) -> None:
    """Move outbox rows (id, reason, error) to outbox_parked, in the caller's transaction."""
    for row_id, reason, error in failures:
        moved = (
            sa.delete(outbox_table)
            .where(outbox_table.c.id == row_id)
            .returning(*(outbox_table.c[c] for c in _ROW_COLUMNS))
            .cte("moved")
        )
        await conn.execute(
            sa.insert(outbox_parked_table).from_select(
                [*_ROW_COLUMNS, "reason", "error"],
                sa.select(
                    *(moved.c[c] for c in _ROW_COLUMNS),
                    sa.literal(reason),
                    sa.literal(error),
                ),
            )
        )


_ROW_COLUMNS = ("id", "event_id", "topic", "key", "value", "headers", "created_at")


async def list_parked(conn: AsyncConnection) -> list[ParkedRow]:
    t = outbox_parked_table
    rows = await conn.execute(
        sa.select(
            t.c.id,
            t.c.event_id,
            t.c.topic,
            t.c.key,
            t.c.headers["event_type"].astext.label("event_type"),
            sa.func.coalesce(sa.func.octet_length(t.c.value), 0).label("size"),
            t.c.created_at,
            t.c.parked_at,
            t.c.reason,
            t.c.error,
        ).order_by(t.c.id)
    )
    return [ParkedRow(**row._mapping) for row in rows]


async def replay_parked(conn: AsyncConnection, ids: Sequence[int] | None) -> int:
    """Move parked rows (all when ids is None) back to the outbox, behind the rows waiting
    there, and wake the relay; returns how many moved."""
    t = outbox_parked_table
    moved_rows = sa.delete(t)
    if ids is not None:
        moved_rows = moved_rows.where(t.c.id.in_(ids))
    moved = moved_rows.returning(*(t.c[c] for c in _ROW_COLUMNS)).cte("moved")
    columns = [c for c in _ROW_COLUMNS if c != "id"]  # a new id: it goes out after the queue
    result = await conn.execute(
        sa.insert(outbox_table)
        .from_select(columns, sa.select(*(moved.c[c] for c in columns)).order_by(moved.c.id))
        .returning(outbox_table.c.id)
    )
    count = len(result.all())
    await conn.execute(sa.select(sa.func.pg_notify(WAKE_CHANNEL, "")))
    return count


async def drop_parked(conn: AsyncConnection, ids: Sequence[int]) -> int:
    """Delete parked rows for good; returns how many were deleted."""
    t = outbox_parked_table
    result = await conn.execute(sa.delete(t).where(t.c.id.in_(ids)).returning(t.c.id))
    return len(result.all())


_ID_ARRAY = postgresql.ARRAY(sa.BigInteger)
# Batches handed to the producer before the oldest is settled: reading and marking overlap
# with waiting for acks.
_IN_FLIGHT_BATCHES = 2


class TransientPublishError(Exception):
    """Part of a batch failed in a way a retry may fix; the rows stay unsent."""


class OutboxRelay:
    """Publishes the outbox to Kafka in order while it leads; wake() after a commit makes it
    look at once (or, on an instance that does not lead, tells the leader)."""

    def __init__(
        self,
        engine: AsyncEngine,
        producer: AIOKafkaProducer,
        *,
        dsn: str,
        service: str,
        batch_size: int,
        poll_interval_s: float,
        retry_backoff_s: float = 0.5,
        retry_backoff_max_s: float = 30.0,
    ) -> None:
        self._engine = engine
        self._producer = producer
        self._dsn = dsn.replace("postgresql+asyncpg://", "postgresql://", 1)
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._retry_backoff_s = retry_backoff_s
        self._retry_backoff_max_s = retry_backoff_max_s
        self._lock_key = zlib.crc32(f"outbox:{service}".encode())
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.leading = False

    def wake(self) -> None:
        self._wakeup.set()

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self, drain_s: float = 5.0) -> None:
        """Stop taking new rows, settle the batches in flight (await their acks, mark them
        sent), then end; after `drain_s` the task is cancelled and whatever was still in
        flight is published again by the next leader (consumers dedupe by event id)."""
        if self._task is None:
            return
        self._stopping.set()
        self.wake()
        done, _ = await asyncio.wait({self._task}, timeout=drain_s)
        if not done:
            log.warning("outbox_relay_drain_timed_out", drain_s=drain_s)
            self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    def _backoff(self, failures: int) -> float:
        return float(min(self._retry_backoff_s * 2 ** (failures - 1), self._retry_backoff_max_s))

    async def _wait(self, timeout_s: float) -> bool:
        """Wait for a wake-up or the timeout; True when woken."""
        try:
            await asyncio.wait_for(self._wakeup.wait(), timeout_s)
        except TimeoutError:
            return False
        finally:
            self._wakeup.clear()
        return True

    async def _pause(self, seconds: float) -> None:
        """Sleep, unless the relay is asked to stop meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _run(self) -> None:
        """Contend for leadership on a connection of our own; lead until it is lost."""
        failures = 0
        while not self._stopping.is_set():
            conn: Any = None
            try:
                conn = await asyncpg.connect(self._dsn)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _, lost=lost: lost.set())
                failures = 0
                while not lost.is_set() and not self._stopping.is_set():
                    if await conn.fetchval("SELECT pg_try_advisory_lock($1)", self._lock_key):
                        await conn.add_listener(WAKE_CHANNEL, lambda *_: self.wake())
                        await self._lead(lost)
                        break
                    # Not the leader: pass our commits' wake-ups on, try again now and then.
                    if await self._wait(self._poll_interval_s):
                        await conn.execute("SELECT pg_notify($1, '')", WAKE_CHANNEL)
            except Exception as exc:  # never let the relay task die: contend again later
                failures += 1
                log.warning(
                    "outbox_relay_connection_failed",
                    error=f"{type(exc).__name__}: {exc}"[:500],
                    failures=failures,
                )
            finally:
                if self.leading:
                    log.info("outbox_relay_leadership_ended")
                self.leading = False
                if conn is not None:
                    # Closing the session releases the advisory lock for the next leader.
                    with contextlib.suppress(Exception):
                        await asyncio.shield(conn.close(timeout=2))
            await self._pause(self._backoff(failures) if failures else self._poll_interval_s)

    async def _lead(self, lost: asyncio.Event) -> None:
        self.leading = True
        log.info("outbox_relay_leader")
        failures = 0
        while not lost.is_set() and not self._stopping.is_set():
            try:
                # Its own connection for as long as it leads: no pool checkout per batch.
                async with self._engine.connect() as conn:
                    autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
                    await self._pump(autocommit, lost)
                    failures = 0
            except Exception as exc:
                failures += 1
                log.warning(
                    "outbox_publish_retry",
                    error=f"{type(exc).__name__}: {exc}"[:500],
                    failures=failures,
                    retry_in_s=self._backoff(failures),
                )
                await self._pause(self._backoff(failures))

    async def _pump(self, conn: AsyncConnection, lost: asyncio.Event) -> None:
        """Publish until leadership is lost, with up to _IN_FLIGHT_BATCHES batches handed to
        the producer: while the acks of one are awaited, the next is read and handed over.
        Batches are settled (marked sent, or parked) strictly in id order. Raises
        TransientPublishError after settling what went out before the first transient
        failure; the rows behind it stay unsent and the next pump reads them again."""
        in_flight: collections.deque[tuple[Sequence[Any], asyncio.Future[Any]]] = (
            collections.deque()
        )
        try:
            while not lost.is_set():
                if self._stopping.is_set():
                    # Shutting down: no new rows; the ones in flight are settled, so a
                    # restart does not publish them again.
                    while in_flight:
                        settled, acks = in_flight.popleft()
                        await self._settle(conn, settled, await acks)
                    return
                rows: Sequence[Any] = []
                if len(in_flight) < _IN_FLIGHT_BATCHES:
                    rows = await self._fetch(conn, [r.id for b, _ in in_flight for r in b])
                if rows:
                    in_flight.append((rows, await self._hand_over(rows)))
                    if len(in_flight) < _IN_FLIGHT_BATCHES and len(rows) == self._batch_size:
                        continue  # more waiting: read the next batch while these fly
                if in_flight:
                    settled, acks = in_flight.popleft()
                    await self._settle(conn, settled, await acks)
                elif not rows:
                    await self._wait(self._poll_interval_s)
        finally:
            # Rows still in flight are not marked: they are read and published again.
            for _, acks in in_flight:
                acks.cancel()

    async def _fetch(self, conn: AsyncConnection, flying: list[int]) -> Sequence[Any]:
        """The oldest unsent rows not in flight. Not `id > last`: a transaction that took its
        id earlier may commit later, and its row must not be skipped."""
        t = outbox_table
        result = await conn.execute(
            sa.select(t.c.id, t.c.topic, t.c.key, t.c.value, t.c.headers)
            .where(
                t.c.sent_at.is_(None),
                t.c.id != sa.all_(sa.bindparam("flying", flying, type_=_ID_ARRAY)),
            )
            .order_by(t.c.id)
            .limit(self._batch_size)
        )
        return result.all()

    async def _hand_over(self, rows: Sequence[Any]) -> asyncio.Future[list[BaseException | None]]:
        """Queue every row in the producer, in order (it batches them per partition, many
        requests in flight); a future of each row's outcome, in order."""
        pending: list[asyncio.Future[Any] | BaseException] = []
        for row in rows:
            try:
                pending.append(
                    await self._producer.send(
                        row.topic,
                        value=row.value,
                        key=row.key.encode(),
                        headers=[(k, str(v).encode()) for k, v in row.headers.items()],
                    )
                )
            except Exception as exc:  # refused before queueing (e.g. too large)
                pending.append(exc)

        async def outcomes() -> list[BaseException | None]:
            futures = [p for p in pending if not isinstance(p, BaseException)]
            results = iter(await asyncio.gather(*futures, return_exceptions=True))
            return [
                p if isinstance(p, BaseException) else _error_or_none(next(results))
                for p in pending
            ]

        return asyncio.ensure_future(outcomes())

    async def _settle(
        self, conn: AsyncConnection, rows: Sequence[Any], outcomes: list[BaseException | None]
    ) -> None:
        """Mark the sent rows (one UPDATE), park the ones Kafka can never take."""
        sent: list[int] = []
        parked: list[tuple[int, str, str]] = []
        transient: BaseException | None = None
        for row, outcome in zip(rows, outcomes, strict=True):
            if outcome is None:
                sent.append(row.id)
                continue
            reason = park_reason(outcome)
            if reason is None:
                transient = outcome  # rows behind it stay unsent: republished, in order
                break
            parked.append((row.id, reason, f"{type(outcome).__name__}: {outcome}"[:2000]))
        if sent:
            await conn.execute(
                outbox_table.update()
                .where(outbox_table.c.id == sa.any_(sa.bindparam("ids", sent, type_=_ID_ARRAY)))
                .values(sent_at=sa.func.now())
            )
        if parked:
            await park_rows(conn, parked)
        for row_id, reason, error in parked:
            log.error("outbox_row_parked", outbox_id=row_id, reason=reason, error=error[:500])
        if transient is not None:
            raise TransientPublishError(f"{type(transient).__name__}: {transient}") from transient
        log.debug("outbox_published", count=len(sent), parked=len(parked))


def _error_or_none(result: Any) -> BaseException | None:
    return result if isinstance(result, BaseException) else None
