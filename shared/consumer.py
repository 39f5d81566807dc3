"""Event subscribers: at-least-once delivery, exactly-once effect, dead letters.

Every subscriber of every service goes through `EventConsumer.subscribe`:
- the offset is committed only after the handler's transaction commits (FastStream
  AckPolicy.NACK_ON_ERROR: ack on success, rewind on an unhandled error);
- the handler runs inside a unit of work whose first statement records the event_id in the
  inbox, so a redelivered event is a no-op;
- bytes that are not a valid event go to `<topic>.dlq` at once (retrying cannot help);
- a handler that fails is retried `consumer_max_attempts` times with backoff, then the
  event goes to the DLQ and the consumer moves on;
- when a dependency (PostgreSQL, Redis, Kafka) is unreachable the event is not dead-lettered:
  the consumer waits and re-reads it, because every event would fail the same way.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import redis.exceptions
import sqlalchemy.exc
from aiokafka import AIOKafkaProducer, ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage

from shared.events import REGISTRY, Envelope, EventPayload, UndecodableEvent, UnknownEventType
from shared.events.envelope import decode
from shared.kafka import send_to_dlq
from shared.logging import get_logger
from shared.settings import ServiceSettings
from shared.unit_of_work import UnitOfWork

log = get_logger(__name__)

EventHandler = Callable[[UnitOfWork, Envelope[Any]], Awaitable[None]]
TombstoneHandler = Callable[[UnitOfWork, str], Awaitable[None]]

INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


def is_infrastructure_error(exc: BaseException) -> bool:
    if isinstance(exc, INFRASTRUCTURE_ERRORS):
        return True
    return isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated


async def _raw_decoder(msg: StreamMessage[Any], original: Any = None) -> bytes:
    """Hand the handler the bytes: decoding is ours, so a bad body can reach the DLQ."""
    return bytes(msg.body)


async def _lenient_parser(
    record: ConsumerRecord[bytes, bytes],
    original: Callable[[Any], Awaitable[StreamMessage[Any]]],
) -> StreamMessage[Any]:
    """FastStream decodes headers as UTF-8 and would drop a message whose headers are not;
    parse a sanitised copy instead, and keep the original record for the DLQ."""
    try:
        return await original(record)
    except UnicodeDecodeError:
        safe = copy.copy(record)
        safe.headers = tuple(
            (k, v.decode("utf-8", "backslashreplace").encode()) for k, v in record.headers
        )
        parsed = await original(safe)
        parsed.raw_message = record
        return parsed


class EventConsumer:
    """Registers the service's subscribers on its broker, one per topic."""

    def __init__(
        self,
        broker: KafkaBroker,
        settings: ServiceSettings,
        *,
        unit_of_work: Callable[[], UnitOfWork],
        producer: Callable[[], AIOKafkaProducer],
        registry: Mapping[tuple[str, int], type[EventPayload]] = REGISTRY,
    ) -> None:
        self._broker = broker
        self._settings = settings
        self._uow = unit_of_work
        self._producer = producer
        self._registry = registry
        self.topics: list[str] = []

    def subscribe(
        self,
        topic: str,
        handlers: Mapping[str, EventHandler],
        *,
        on_tombstone: TombstoneHandler | None = None,
        description: str = "",
    ) -> None:
        """Handle the named event types of a topic; other types are skipped."""
        settings = self._settings
        name = f"{settings.kafka_topic_prefix}{topic}"
        # One consumer group per (service, topic): a second subscriber never forces the first
        # to rebalance, and each topic's offsets move on their own.
        consumer = f"{settings.consumer_group}.{topic}"
        self.topics.append(topic)

        async def handle(body: bytes, msg: KafkaMessage) -> None:
            record: ConsumerRecord[bytes, bytes] = msg.raw_message
            if record.value is None:
                if on_tombstone is not None and record.key is not None:
                    await self._run(
                        record, consumer, lambda uow: on_tombstone(uow, record.key.decode())
                    )
                return
            try:
                envelope = decode(body, dict(self._registry))
            except UnknownEventType:
                return  # a newer event type this service does not use: not an error
            except UndecodableEvent as exc:
                await send_to_dlq(
                    self._producer(),
                    record,
                    consumer=consumer,
                    reason=exc.reason,
                    error=str(exc),
                )
                return
            handler = handlers.get(envelope.type)
            if handler is None:
                return

            async def effect(uow: UnitOfWork) -> None:
                if not await uow.claim(consumer, envelope.event_id):
                    log.info("event_duplicate_skipped", event_id=str(envelope.event_id))
                    return
                await handler(uow, envelope)

            await self._run(record, consumer, effect)

        handle.__name__ = f"on_{topic.replace('.', '_')}"
        self._broker.subscriber(
            name,
            group_id=consumer,
            auto_offset_reset="earliest",
            session_timeout_ms=settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=settings.kafka_heartbeat_interval_ms,
            ack_policy=AckPolicy.NACK_ON_ERROR,
            parser=_lenient_parser,
            decoder=_raw_decoder,
            title=f"{settings.service_name}:{name}",
            description=description
            or f"Handles {', '.join(sorted(handlers))} from {name}; the rest is skipped.",
        )(handle)

    async def _run(
        self,
        record: ConsumerRecord[bytes, bytes],
        consumer: str,
        effect: Callable[[UnitOfWork], Awaitable[None]],
    ) -> None:
        settings = self._settings
        for attempt in range(1, settings.consumer_max_attempts + 1):
            try:
                async with self._uow() as uow:
                    await effect(uow)
                return
            except Exception as exc:
                if is_infrastructure_error(exc):
                    log.warning("event_dependency_down", error=repr(exc), offset=record.offset)
                    await asyncio.sleep(settings.consumer_infra_backoff_s)
                    raise  # rewinds: the event is read again, nothing is dead-lettered
                if attempt == settings.consumer_max_attempts:
                    await send_to_dlq(
                        self._producer(),
                        record,
                        consumer=consumer,
                        reason="handler_failed",
                        error=f"{type(exc).__name__}: {exc}",
                    )
                    return
                log.warning("event_handler_retry", attempt=attempt, error=repr(exc))
                await asyncio.sleep(settings.consumer_retry_backoff_s * 2 ** (attempt - 1))
