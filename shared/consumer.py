"""Event subscribers: batches, at-least-once delivery, exactly-once effect, dead letters.

A service declares typed handlers (`async def on_x(uow, event: Envelope[X | Y])`, or
`events: Sequence[Envelope[X]]` for a handler that takes each run of consecutive events in
one call); the consumer derives from the payload types which topics to read (each payload
class names its topic) and registers one FastStream batch subscriber per topic, whose
AsyncAPI message is the envelope of exactly the types handled. Every batch goes through the
same wrapper:

- the records of a batch (up to `consumer_batch_max`, in partition order) are decoded first;
  bytes that are not a valid event, and events of a type no release of ours knows, go to
  `<topic>.dlq` (retrying cannot help); known types nobody here handles are skipped;
- the effects of the whole batch run in ONE transaction whose first statement claims every
  event_id in the inbox at once, so a redelivered event is a no-op; events run in the order
  they were read, so one key's events keep their order;
- the offsets are committed only after that transaction (FastStream AckPolicy.NACK_ON_ERROR:
  ack on success, rewind every partition of the batch on an unhandled error);
- when a handler fails, the batch's transaction rolls back and the batch is replayed one
  event per transaction: the failing event is retried `consumer_max_attempts` times with
  backoff, then dead-lettered, and the others take effect exactly once;
- when a dependency (PostgreSQL, Redis, Kafka) is unreachable nothing is dead-lettered: the
  consumer waits and re-reads the batch, because every event would fail the same way.

Dead-lettered copies of topics whose payloads declare `secret_fields` (notifier.requests:
the one-time code and its destination) are scrubbed; errors are described by type and
constraint, never with the values involved (shared.redaction).
"""

from __future__ import annotations

import asyncio
import collections.abc
import copy
import dataclasses
import inspect
import json
import types
import typing
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias, Union

import redis.exceptions
import sqlalchemy.exc
from aiokafka import AIOKafkaProducer, ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.message import StreamMessage

from shared.events import (
    REGISTRY,
    Envelope,
    EventPayload,
    UndecodableEvent,
    UnknownEventType,
    is_account_id,
)
from shared.events.envelope import decode, payloads_on
from shared.events.topics import owner_of_topic
from shared.kafka import send_to_dlq
from shared.logging import get_logger
from shared.redaction import describe_error
from shared.settings import ServiceSettings
from shared.tracing import caused_by, tracing
from shared.unit_of_work import UnitOfWork

log = get_logger(__name__)

EventHandler = Callable[[UnitOfWork, Envelope[Any]], Awaitable[None]]
BatchHandler = Callable[[UnitOfWork, Sequence[Envelope[Any]]], Awaitable[None]]
TombstoneHandler = Callable[[UnitOfWork, str], Awaitable[None]]
Record: TypeAlias = ConsumerRecord[bytes, bytes]

INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)

SCRUBBED = "***"


class RefusedEvent(Exception):
    """A handler's verdict that an event is well-formed but must not be acted on (a request
    no producer may make, say): dead-lettered at once with `reason`, never retried."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


# SQLSTATE classes of a database that is unreachable or overwhelmed rather than of work that is
# wrong: connection exception, insufficient resources, operator intervention (shutdown).
UNREACHABLE_SQLSTATE_CLASSES = ("08", "53", "57")


def is_infrastructure_error(exc: BaseException) -> bool:
    """An error every event would meet alike: a dependency that is down (a connection refused
    or lost, a database shutting down or out of connections, a timeout)."""
    if isinstance(exc, INFRASTRUCTURE_ERRORS):
        return True
    if not isinstance(exc, sqlalchemy.exc.DBAPIError):
        return False
    driver = exc.orig.__cause__ if exc.orig is not None and exc.orig.__cause__ else exc.orig
    sqlstate = getattr(driver, "sqlstate", None)
    return (
        exc.connection_invalidated
        or isinstance(driver, INFRASTRUCTURE_ERRORS)
        or (isinstance(sqlstate, str) and sqlstate.startswith(UNREACHABLE_SQLSTATE_CLASSES))
    )


def handled_types(handler: Callable[..., Any]) -> tuple[tuple[type[EventPayload], ...], bool]:
    """The payload types a handler declares, and whether it takes a batch: its event
    parameter is `Envelope[X | Y ...]`, or `Sequence[Envelope[X | Y ...]]` for a handler that
    acts on a run of consecutive events at once (one statement for many rows)."""
    params = list(inspect.signature(handler).parameters)
    if len(params) != 2:
        raise TypeError(f"{handler.__name__} must take (uow, event: Envelope[...])")
    annotation = typing.get_type_hints(handler)[params[1]]
    batch = typing.get_origin(annotation) in (list, Sequence, collections.abc.Sequence)
    if batch:
        (annotation,) = typing.get_args(annotation)
    metadata = getattr(annotation, "__pydantic_generic_metadata__", None)
    if not metadata or metadata["origin"] is not Envelope or not metadata["args"]:
        raise TypeError(f"{handler.__name__}: annotate the event as Envelope[SomePayload]")
    (arg,) = metadata["args"]
    union = typing.get_origin(arg) in (Union, types.UnionType)
    payloads = typing.get_args(arg) if union else (arg,)
    for payload in payloads:
        if not (isinstance(payload, type) and payload in REGISTRY.values()):
            raise TypeError(f"{handler.__name__}: {payload!r} is not a registered event type")
    return tuple(payloads), batch


def scrub(raw: bytes | None, secret_fields: frozenset[str]) -> tuple[bytes | None, str]:
    """The dead-letter copy of a message whose payload has secret fields, and what was done.

    Named fields of the payload become `***` (each value of a mapping, keeping its keys);
    bytes that cannot be parsed are not copied at all, since the secret may be anywhere in
    them."""
    if raw is None or not secret_fields:
        return raw, ""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return b"", "body"
    payload = data.get("payload") if isinstance(data, dict) else None
    if not isinstance(payload, dict):
        return b"", "body"
    for name in sorted(secret_fields & payload.keys()):
        value = payload[name]
        payload[name] = dict.fromkeys(value, SCRUBBED) if isinstance(value, dict) else SCRUBBED
    return json.dumps(data).encode(), ",".join(f"payload.{n}" for n in sorted(secret_fields))


@dataclass
class _Work:
    """A record that takes effect: an event for a handler, or a tombstone."""

    record: Record
    envelope: Envelope[Any] | None = None
    handler: _Handler | None = None
    tombstone: TombstoneHandler | None = None


@dataclass(frozen=True)
class _Handler:
    """A handler as declared: for one event, or for a run of consecutive events."""

    call: EventHandler | BatchHandler
    batch: bool


@dataclass
class _DeadLetter:
    record: Record
    reason: str
    error: str


@dataclass
class Subscription:
    """Everything this service does with one topic."""

    topic: str
    group: str
    handlers: dict[type[EventPayload], _Handler] = field(default_factory=dict)
    on_tombstone: TombstoneHandler | None = None
    # Event types acted on only from these producers; the others are dead-lettered.
    trusted: dict[type[EventPayload], frozenset[str]] = field(default_factory=dict)

    @property
    def secret_fields(self) -> frozenset[str]:
        return frozenset().union(*(p.secret_fields for p in payloads_on(self.topic)))

    @property
    def owner(self) -> frozenset[str] | None:
        """Who events of this topic are believed from unless `only_from` says otherwise."""
        owner = owner_of_topic(self.topic)
        return None if owner is None else frozenset({owner})


async def _lenient_parser(
    records: tuple[Record, ...],
    original: Callable[[Any], Awaitable[StreamMessage[Any]]],
) -> StreamMessage[Any]:
    """FastStream decodes headers as UTF-8 and would drop a batch where one record's headers
    are not; parse sanitised copies instead, and keep the original records for the DLQ."""
    try:
        return await original(records)
    except UnicodeDecodeError:
        safe = []
        for record in records:
            clean = copy.copy(record)
            clean.headers = tuple(
                (k, v.decode("utf-8", "backslashreplace").encode()) for k, v in record.headers
            )
            safe.append(clean)
        parsed = await original(tuple(safe))
        parsed.raw_message = records
        return parsed


async def _records(msg: StreamMessage[Any], original: Any = None) -> tuple[Record, ...]:
    """The handler gets the records themselves: decoding is ours, so bad bytes reach the DLQ."""
    records: tuple[Record, ...] = msg.raw_message
    return records


class EventConsumer:
    """The service's subscribers: typed handlers in, one batch subscriber per topic out."""

    def __init__(
        self,
        broker: KafkaBroker,
        settings: ServiceSettings,
        *,
        unit_of_work: Callable[[], UnitOfWork],
        producer: Callable[[], AIOKafkaProducer],
    ) -> None:
        self._broker = broker
        self._settings = settings
        self._uow = unit_of_work
        self._producer = producer
        self._subscriptions: dict[str, Subscription] = {}
        self._declared = False

    @property
    def topics(self) -> list[str]:
        return list(self._subscriptions)

    def _subscription(self, topic: str) -> Subscription:
        if self._declared:
            raise RuntimeError("handlers are added before the subscribers are declared")
        if topic not in self._subscriptions:
            # One consumer group per (service, topic): a second subscriber never forces the
            # first to rebalance, and each topic's offsets move on their own.
            self._subscriptions[topic] = Subscription(
                topic, f"{self._settings.consumer_group}.{topic}"
            )
        return self._subscriptions[topic]

    def handle(self, *handlers: EventHandler | BatchHandler) -> None:
        """Run each handler for the event types its `event` parameter declares."""
        for handler in handlers:
            payloads, batch = handled_types(handler)
            for payload in payloads:
                subscription = self._subscription(payload.topic)
                if payload in subscription.handlers:
                    raise ValueError(f"{payload.event_type} already has a handler")
                subscription.handlers[payload] = _Handler(handler, batch)

    def only_from(self, payload: type[EventPayload], producers: Iterable[str]) -> None:
        """Act on `payload` events only when their producer is one of `producers`; the rest
        go to the DLQ (`untrusted_producer`). The envelope's producer is a claim: broker ACLs
        on who may write the topic are what make it true (deploy/compose.yaml). Without it,
        an event is believed only from its topic's owner (`owner_of_topic`): a
        CancellationCompleted that claims another producer erases nothing."""
        self._subscription(payload.topic).trusted[payload] = frozenset(producers)

    def handle_tombstones(self, topic: str, handler: TombstoneHandler) -> None:
        """Run the handler with the key of each null-value record of a compacted topic."""
        self._subscription(topic).on_tombstone = handler

    def declare(self) -> None:
        """Register the subscribers on the broker (once every handler is known)."""
        self._declared = True
        for subscription in self._subscriptions.values():
            self._declare(subscription)

    def _declare(self, sub: Subscription) -> None:
        settings = self._settings
        name = f"{settings.kafka_topic_prefix}{sub.topic}"

        async def consume(records: tuple[Record, ...]) -> None:
            await self.consume(sub, records)

        # What AsyncAPI shows: the envelope of exactly the types handled. FastStream reads it
        # from the signature; at run time the broker is built with apply_types=False and the
        # records reach `consume` undecoded.
        handled = tuple(sub.handlers)
        union: Any = handled[0] if len(handled) == 1 else Union[handled]  # noqa: UP007
        consume.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [
                inspect.Parameter(
                    "event", inspect.Parameter.POSITIONAL_ONLY, annotation=Envelope[union]
                )
            ]
        )
        consume.__name__ = f"on_{sub.topic.replace('.', '_')}"
        handled_names = ", ".join(p.event_type for p in handled)
        tombstones = "; tombstones erase what is kept of the key" if sub.on_tombstone else ""
        self._broker.subscriber(
            name,
            batch=True,
            max_records=settings.consumer_batch_max,
            batch_timeout_ms=settings.consumer_batch_wait_ms,
            fetch_max_wait_ms=settings.consumer_fetch_wait_ms,
            group_id=sub.group,
            auto_offset_reset="earliest",
            session_timeout_ms=settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=settings.kafka_heartbeat_interval_ms,
            ack_policy=AckPolicy.NACK_ON_ERROR,
            parser=_lenient_parser,
            decoder=_records,
            title=f"{settings.service_name}:{name}",
            description=f"Handles {handled_names} from {name}{tombstones}; other types are "
            f"skipped, undecodable or unknown ones go to {name}.dlq.",
        )(consume)

    async def consume(self, sub: Subscription, records: Sequence[Record]) -> None:
        """One batch: decode, one transaction for every effect, then the dead letters."""
        work: list[_Work] = []
        dead: list[_DeadLetter] = []
        for record in records:
            item = self._read(sub, record)
            if isinstance(item, _Work):
                work.append(item)
            elif isinstance(item, _DeadLetter):
                dead.append(item)
        if work:
            try:
                await self._apply(sub, work)
            except Exception as exc:
                await self._raise_if_infrastructure(exc, work[0].record)
                log.warning(
                    "event_batch_failed_one_at_a_time",
                    topic=sub.topic,
                    events=len(work),
                    error=describe_error(exc),
                )
                for item in work:
                    failed = await self._apply_alone(sub, item)
                    if failed is not None:
                        dead.append(failed)
        dead.sort(key=lambda d: (d.record.partition, d.record.offset))
        for letter in dead:
            await self._dead_letter(sub, letter)

    def _read(self, sub: Subscription, record: Record) -> _Work | _DeadLetter | None:
        """What to do with one record: take effect, dead-letter it, or skip it (None)."""
        if record.value is None:
            if sub.on_tombstone is None:
                return None
            if record.key is None or not is_account_id(record.key.decode(errors="replace")):
                # A tombstone erases what is kept of its key: the key must be an account.
                return _DeadLetter(record, "invalid", "tombstone key: not an account ID")
            return _Work(record, tombstone=sub.on_tombstone)
        try:
            envelope = decode(record.value, REGISTRY)
        except (UnknownEventType, UndecodableEvent) as exc:
            # Retrying cannot help: bytes that are no event, a contract breach (`invalid`), or
            # a type no release of ours defines (a newer producer?) are parked, not forgotten.
            return _DeadLetter(record, exc.reason, str(exc))
        trusted = sub.trusted.get(type(envelope.payload), sub.owner)
        if trusted is not None and envelope.producer not in trusted:
            return _DeadLetter(
                record,
                "untrusted_producer",
                f"{envelope.type} from producer {envelope.producer[:64]!r}, which is not "
                f"trusted for it (trusted: {', '.join(sorted(trusted))})",
            )
        handler = sub.handlers.get(type(envelope.payload))
        if handler is None:
            return None  # a type of the topic this service does not use
        return _Work(record, envelope=envelope, handler=handler)

    async def _apply(self, sub: Subscription, work: Sequence[_Work]) -> None:
        """The effects of `work`, in order, in one transaction with their inbox claims.

        A batch handler gets each run of consecutive events it handles in one call, so the
        order of all effects is still the order read."""
        async with self._uow() as uow:
            ids = [w.envelope.event_id for w in work if w.envelope is not None]
            fresh = await uow.claim_all(sub.group, ids) if ids else set()
            run: list[Envelope[Any]] = []
            run_handler: _Handler | None = None
            for item in work:
                if item.envelope is not None and item.envelope.event_id not in fresh:
                    log.info("event_duplicate_skipped", event_id=str(item.envelope.event_id))
                    continue
                if item.handler is not None and item.handler == run_handler:
                    assert item.envelope is not None
                    fresh.discard(item.envelope.event_id)  # a repeat in the batch is one too
                    run.append(item.envelope)
                    continue
                if run_handler is not None:
                    await self._call(uow, run_handler, run)
                    run, run_handler = [], None
                if item.tombstone is not None:
                    assert item.record.key is not None
                    await item.tombstone(uow, item.record.key.decode())
                    continue
                assert item.envelope is not None and item.handler is not None
                fresh.discard(item.envelope.event_id)
                if item.handler.batch:
                    run, run_handler = [item.envelope], item.handler
                else:
                    await self._call(uow, item.handler, [item.envelope])
            if run_handler is not None:
                await self._call(uow, run_handler, run)

    @staticmethod
    async def _call(uow: UnitOfWork, handler: _Handler, events: list[Envelope[Any]]) -> None:
        """Run a handler; what one event's handler emits carries that event as its cause
        (shared.tracing). A batch handler that emits names each cause itself
        (`new_envelope(..., causation=event)`): its events have many."""
        if handler.batch:
            await typing.cast(BatchHandler, handler.call)(uow, events)
            return
        (event,) = events
        with tracing(caused_by(event)):
            await typing.cast(EventHandler, handler.call)(uow, event)

    async def _apply_alone(self, sub: Subscription, item: _Work) -> _DeadLetter | None:
        """One event in its own transaction, retried with backoff; a dead letter at the end."""
        settings = self._settings
        for attempt in range(1, settings.consumer_max_attempts + 1):
            try:
                await self._apply(sub, [item])
                return None
            except RefusedEvent as exc:
                log.warning("event_refused", reason=exc.reason, error=str(exc)[:200])
                return _DeadLetter(item.record, exc.reason, str(exc))
            except Exception as exc:
                await self._raise_if_infrastructure(exc, item.record)
                if attempt == settings.consumer_max_attempts:
                    return _DeadLetter(item.record, "handler_failed", describe_error(exc))
                log.warning("event_handler_retry", attempt=attempt, error=describe_error(exc))
                await asyncio.sleep(settings.consumer_retry_backoff_s * 2 ** (attempt - 1))
        return None  # consumer_max_attempts < 1: nothing to try

    async def _raise_if_infrastructure(self, exc: Exception, record: Record) -> None:
        """Re-raise (after a pause) what no retry of this event can fix: FastStream then
        rewinds the batch and the consumer reads it again."""
        if is_infrastructure_error(exc):
            log.warning("event_dependency_down", error=describe_error(exc), offset=record.offset)
            await asyncio.sleep(self._settings.consumer_infra_backoff_s)
            raise exc

    async def _dead_letter(self, sub: Subscription, letter: _DeadLetter) -> None:
        value, scrubbed = scrub(letter.record.value, sub.secret_fields)
        record = letter.record
        if scrubbed:
            record = dataclasses.replace(
                record,
                value=value,
                headers=(*(record.headers or ()), ("dlq.scrubbed", scrubbed.encode())),
            )
        await send_to_dlq(
            self._producer(), record, consumer=sub.group, reason=letter.reason, error=letter.error
        )
