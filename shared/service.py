"""One way to assemble and run a service: FastAPI for HTTP, FastStream for Kafka, one process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import uvicorn
from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, Response
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from faststream.specification.asyncapi.site import get_asyncapi_html
from redis.asyncio import Redis

from shared import health
from shared.auth import TokenVerifier
from shared.body_limit import BodySizeLimit
from shared.clock import Clock, SystemClock
from shared.consumer import EventConsumer
from shared.db import ensure_database, make_engine, migrate
from shared.errors import install_error_handlers
from shared.events import Envelope, EventPayload, Topic, payloads_on
from shared.events.topics import dlq_name
from shared.kafka import broker_security, ensure_topics, make_producer
from shared.logging import configure_logging, get_logger
from shared.outbox import OutboxRelay
from shared.retention import Expiring, RetentionPruner
from shared.runtime import Runtime
from shared.settings import ServiceSettings
from shared.tracing import RequestIdMiddleware

log = get_logger(__name__)

# What a dead-letter topic holds (contracts/README.md), for the AsyncAPI documents.
DEAD_LETTERS = (
    "Dead letters of {topic} written by {service}: the original key, value (any bytes) and "
    "headers, secret payload fields replaced by *** on notifier.requests, plus the headers "
    "dlq.reason (undecodable | invalid | unknown_type | untrusted_producer | handler_failed"
    " | delivery_failed), dlq.error (fields and problems, never values), dlq.consumer (the "
    "consumer group), dlq.source.topic, dlq.source.partition, dlq.source.offset, "
    "dlq.failed_at (UTC, ISO 8601) and dlq.scrubbed (the fields replaced, if any). Replay: "
    "produce the message again on {topic}; consumers deduplicate by event_id."
)


class BackgroundWorker(Protocol):
    """A loop a service runs beside its subscribers (e.g. the notifier's dispatcher)."""

    def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class ServiceSpec:
    """What makes one service different from the others; everything else is shared."""

    settings: ServiceSettings
    migrations: Path
    description: str
    routers: Sequence[APIRouter] = ()
    publishes: Sequence[Topic] = ()  # the topics it writes; their event types are on the classes
    # Builds the service's use-case context from the runtime (kept as runtime.context),
    # before its subscribers are wired.
    bootstrap: Callable[[Runtime], object] | None = None
    subscribe: Callable[[EventConsumer, Runtime], None] | None = None
    workers: Sequence[Callable[[Runtime], BackgroundWorker]] = ()
    expiring: Sequence[Expiring] = ()  # own tables the retention pruner keeps short
    clock: Clock = field(default_factory=SystemClock)  # tests inject a FixedClock


def asyncapi_of(broker: KafkaBroker, spec: ServiceSpec) -> AsyncAPI:
    return AsyncAPI(
        broker,
        title=f"{spec.settings.service_name} service",
        version="0.1.0",
        description=spec.description,
    )


class UnsafeSettings(Exception):
    """The settings must not serve (a committed key or a fake outside dev mode)."""

    def __init__(self, service: str, problems: list[str]) -> None:
        super().__init__(f"{service} refuses to start: " + "; ".join(problems))
        self.problems = problems


def create_app(spec: ServiceSpec) -> FastAPI:
    """The service's ASGI app; its lifespan starts and stops everything in order.
    Raises UnsafeSettings when the settings must not serve."""
    settings = spec.settings
    problems = settings.refusals()
    if problems:
        raise UnsafeSettings(settings.service_name, problems)
    runtime = Runtime(
        settings=settings,
        clock=spec.clock,
        engine=make_engine(settings.database_url),
        redis=Redis.from_url(settings.redis_url, socket_timeout=2.0, socket_connect_timeout=2.0),
        tokens=TokenVerifier.over_http(settings.identity_jwks_url),
    )
    broker = KafkaBroker(
        settings.kafka_bootstrap_servers,
        security=broker_security(settings),
        client_id=settings.service_name,
        graceful_timeout=15.0,
        logger=None,
        # Decoding is the consumer's (shared.consumer): handlers' signatures only describe
        # the messages in the AsyncAPI document.
        apply_types=False,
    )
    consumer = EventConsumer(
        broker, settings, unit_of_work=runtime.uow, producer=lambda: runtime.producer
    )
    if spec.bootstrap is not None:
        runtime.context = spec.bootstrap(runtime)
    if spec.subscribe is not None:
        spec.subscribe(consumer, runtime)
    consumer.declare()
    for topic in spec.publishes:
        payloads = payloads_on(topic)
        union: Any = payloads[0] if len(payloads) == 1 else _union(payloads)
        broker.publisher(
            f"{settings.kafka_topic_prefix}{topic}",
            title=f"{settings.service_name}:{topic}",
            description="Published through the outbox: "
            + ", ".join(p.event_type for p in payloads),
            schema=Envelope[union],
        )
    for consumed in consumer.topics:
        dlq = dlq_name(f"{settings.kafka_topic_prefix}{consumed}")
        broker.publisher(
            dlq,
            title=f"{settings.service_name}:{dlq}",
            description=DEAD_LETTERS.format(topic=consumed, service=settings.service_name),
            schema=Any,  # the original bytes: usually an envelope, maybe not JSON at all
        )
    workers = [make(runtime) for make in spec.workers]

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await ensure_database(settings.postgres_dsn, settings.database_name)
        await migrate(settings.database_url, spec.migrations)
        await ensure_topics(settings, {*spec.publishes, *consumer.topics})
        producer = make_producer(settings)
        await producer.start()
        runtime._producer = producer
        relay = OutboxRelay(
            runtime.engine,
            producer,
            dsn=settings.database_url,
            service=settings.service_name,
            batch_size=settings.outbox_batch_size,
            poll_interval_s=settings.outbox_poll_interval_s,
            retry_backoff_s=settings.outbox_retry_backoff_s,
            retry_backoff_max_s=settings.outbox_retry_backoff_max_s,
        )
        runtime._relay = relay
        if settings.outbox_relay_enabled:
            relay.start()
        pruner = RetentionPruner(
            runtime.engine,
            outbox_retention_s=settings.outbox_retention_s,
            inbox_retention_s=settings.inbox_retention_s,
            batch_size=settings.retention_batch_size,
            interval_s=settings.retention_interval_s,
            expiring=spec.expiring,
        )
        pruner.start()
        for worker in workers:
            worker.start()
        await start_subscribers(broker)
        log.info("service_started", port=settings.http_port)
        try:
            yield
        finally:
            # Stop taking events first and let in-flight handlers finish, then the rest. Each
            # step is bounded: a stalled dependency must not keep the process from exiting.
            steps: list[tuple[str, Callable[[], Awaitable[object]]]] = [
                ("broker", broker.stop),
                *((f"worker:{type(w).__name__}", w.stop) for w in workers),
                ("retention", pruner.stop),
                ("relay", relay.stop),
                ("producer", producer.stop),
                ("redis", runtime.redis.aclose),
                ("database", runtime.engine.dispose),
            ]
            for name, stop in steps:
                try:
                    await asyncio.wait_for(stop(), settings.shutdown_step_timeout_s)
                except TimeoutError:
                    log.warning(
                        "shutdown_step_timed_out",
                        step=name,
                        timeout_s=settings.shutdown_step_timeout_s,
                    )
            log.info("service_stopped")

    app = FastAPI(
        title=f"{settings.service_name} service", description=spec.description, lifespan=lifespan
    )
    app.state.runtime = runtime
    app.state.broker = broker
    app.add_middleware(BodySizeLimit, max_bytes=settings.http_max_body_bytes)
    install_error_handlers(app)
    # Outermost but for the error middleware: every response, refusals included, names the
    # correlation id its events carry.
    app.add_middleware(RequestIdMiddleware)
    app.include_router(health.router)
    for router in spec.routers:
        app.include_router(router)

    @app.get("/asyncapi.json", include_in_schema=False)
    async def asyncapi_json() -> Response:
        return Response(
            asyncapi_of(broker, spec).to_specification().to_json(), media_type="application/json"
        )

    @app.get("/asyncapi", include_in_schema=False)
    async def asyncapi_page() -> HTMLResponse:
        return HTMLResponse(get_asyncapi_html(asyncapi_of(broker, spec).to_specification()))

    return app


async def start_subscribers(broker: KafkaBroker) -> None:
    """broker.start(), with the subscribers started together: each one's start waits for its
    consumer group's first assignment (seconds on some brokers), one group per topic."""
    await broker.connect()
    await asyncio.gather(*(subscriber.start() for subscriber in broker.subscribers))
    for publisher in broker.publishers:
        await publisher.start()
    broker.running = True


def _union(payloads: Sequence[type[EventPayload]]) -> Any:
    from typing import Union

    return Union[tuple(payloads)]  # noqa: UP007


def run_service(spec_factory: Callable[[], ServiceSpec]) -> None:
    """Console entry point of a service: configure logging and serve until SIGTERM/SIGINT."""
    spec = spec_factory()
    s = spec.settings
    configure_logging(s.service_name, s.log_level, s.log_json)
    try:
        app = create_app(spec)
    except UnsafeSettings as refused:
        # One line that names every offending setting, no traceback; exit 78 (EX_CONFIG).
        log.error("refusing_to_start", problems=refused.problems)
        raise SystemExit(78) from None
    uvicorn.run(
        app,
        host=s.http_host,
        port=s.http_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=20,
    )
