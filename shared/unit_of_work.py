"""The unit of work: state, outbox rows and inbox rows commit together."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import sqlalchemy.exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.clock import Clock, SystemClock
from shared.events.envelope import Envelope
from shared.inbox import claim_events
from shared.outbox import add_all_to_outbox, add_to_outbox, add_tombstone_to_outbox
from shared.redaction import describe_error


class DatabaseUnavailable(ConnectionError):
    """The unit of work could not get a connection to its database."""


# Writes a unit of work's buffered rows (see UnitOfWork.buffer) on its connection.
Flush = Callable[[AsyncConnection, list[Any]], Awaitable[None]]


class UnitOfWork:
    """`async with uow:` opens a transaction; leaving it without an error commits.

    After a commit that queued events, the relay is woken so they go out at once.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        topic_prefix: str = "",
        on_commit: Callable[[], None],
        clock: Clock | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock or SystemClock()
        self._topic_prefix = topic_prefix
        self._on_commit = on_commit
        self._conn: AsyncConnection | None = None
        self._emitted = False
        self._buffers: dict[str, tuple[Flush, list[Any]]] = {}

    def now(self) -> datetime:
        """The service's clock (injectable): the `occurred_at` of the events it emits."""
        return self._clock.now()

    @property
    def conn(self) -> AsyncConnection:
        assert self._conn is not None, "use the unit of work inside `async with`"
        return self._conn

    async def __aenter__(self) -> Self:
        try:
            conn = await self._engine.connect()
        except sqlalchemy.exc.DBAPIError as exc:
            # No connection, whatever PostgreSQL answered (refused, shutting down, not
            # accepting connections, too many): the database is unreachable, not the work
            # wrong. Consumers wait and re-read instead of dead-lettering (shared.consumer).
            raise DatabaseUnavailable(describe_error(exc)) from exc
        try:
            await conn.begin()
        except BaseException:
            await conn.close()
            raise
        self._conn = conn
        self._emitted = False
        self._buffers = {}
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        buffers, self._buffers = self._buffers, {}
        if exc_type is None:
            try:
                for flush, items in buffers.values():
                    if items:
                        await flush(self.conn, items)
            except BaseException:
                conn, self._conn = self.conn, None
                try:
                    await conn.rollback()
                finally:
                    await conn.close()
                raise
        conn, self._conn = self.conn, None
        try:
            if exc_type is None:
                await conn.commit()
            else:
                await conn.rollback()
        finally:
            await conn.close()
        if exc_type is None and self._emitted:
            self._on_commit()

    def topic(self, name: str) -> str:
        """The full name of a topic (unprefixed name) for rows written to the outbox by hand."""
        return f"{self._topic_prefix}{name}"

    def buffer(self, key: str, flush: Flush) -> list[Any]:
        """A list of rows that `flush` writes just before the commit, all in one statement:
        the rows the events of a consumed batch add go in one round trip, not one each.
        The same key returns the same list within the transaction."""
        if key not in self._buffers:
            self._buffers[key] = (flush, [])
        return self._buffers[key][1]

    async def emit(self, topic: str, envelope: Envelope[Any]) -> None:
        """Queue an event for the topic (unprefixed name) in this transaction."""
        await add_to_outbox(self.conn, f"{self._topic_prefix}{topic}", envelope)
        self._emitted = True

    async def emit_all(self, topic: str, envelopes: Sequence[Envelope[Any]]) -> None:
        """Queue several events for the topic in one statement (in order)."""
        if envelopes:
            await add_all_to_outbox(self.conn, f"{self._topic_prefix}{topic}", envelopes)
            self._emitted = True

    async def emit_tombstone(self, topic: str, key: str) -> None:
        """Queue a null value for the key: erases it from a compacted topic."""
        await add_tombstone_to_outbox(self.conn, f"{self._topic_prefix}{topic}", key, uuid.uuid4())
        self._emitted = True

    async def claim_all(self, consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Inbox: the events this consumer has not processed yet, now claimed in this
        transaction (one statement for a whole batch)."""
        return await claim_events(self.conn, consumer, event_ids)
