"""The wired dependencies of a running service, handed to routes, handlers and workers."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaProducer
from fastapi import Request
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.clock import Clock, SystemClock
from shared.outbox import OutboxRelay
from shared.settings import ServiceSettings
from shared.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from shared.auth import TokenVerifier


@dataclass
class Runtime:
    """Engine, Redis, producer and relay of one service process."""

    settings: ServiceSettings
    engine: AsyncEngine
    redis: Redis
    clock: Clock = field(default_factory=SystemClock)
    context: Any = None  # the service's own wiring, from ServiceSpec.bootstrap
    tokens: TokenVerifier | None = None  # verifies identity's access tokens offline
    _producer: AIOKafkaProducer | None = None
    _relay: OutboxRelay | None = None

    @property
    def producer(self) -> AIOKafkaProducer:
        assert self._producer is not None, "the producer starts with the service"
        return self._producer

    @property
    def relay(self) -> OutboxRelay:
        assert self._relay is not None, "the relay starts with the service"
        return self._relay

    @cached_property
    def reader(self) -> AsyncEngine:
        """The engine (same pool) for a lone statement that only reads: in autocommit, so
        without the BEGIN and ROLLBACK around it (two of its four round trips; one statement
        sees one snapshot either way). Hot paths only; anything that reads twice and needs
        one snapshot, or writes, takes `engine` or `uow()`."""
        return self.engine.execution_options(isolation_level="AUTOCOMMIT")

    def uow(self) -> UnitOfWork:
        """A new unit of work; its commit wakes the outbox relay."""
        return UnitOfWork(
            self.engine,
            topic_prefix=self.settings.kafka_topic_prefix,
            on_commit=lambda: self._relay.wake() if self._relay else None,
            clock=self.clock,
        )

    def redis_key(self, *parts: Any) -> str:
        return self.settings.redis_key_prefix + ":".join(str(p) for p in parts)


def runtime_of(request: Request) -> Runtime:
    """The service's runtime, from the app serving the request."""
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_runtime(request: Request) -> Runtime:
    """FastAPI dependency: the service's runtime (async: FastAPI runs a plain def dependency
    in a worker thread, a thread hop on every request)."""
    return runtime_of(request)
