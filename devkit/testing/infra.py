"""The servers a test run uses, found in this order: environment variables, testcontainers
when a Docker engine answers, else the embedded broker and the local Redis/PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from devkit.broker import EmbeddedBroker, start_embedded_broker
from shared.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)

# Durations shrunk so tests run fast; every one of them is a setting.
FAST: dict[str, Any] = {
    "kafka_session_timeout_ms": 2000,
    "kafka_heartbeat_interval_ms": 300,
    "outbox_poll_interval_s": 0.1,
    "consumer_retry_backoff_s": 0.05,
    "consumer_infra_backoff_s": 0.2,
    "delivery_poll_interval_s": 0.1,
    "delivery_backoff_s": 0.1,
    "delivery_lease_s": 5.0,
    "smtp_timeout_s": 2.0,
    "sms_timeout_s": 2.0,
}

# Tests run in dev mode: the fake identity/captcha providers and the committed dev-only keys
# (outside dev mode identity refuses to start with them). Tests of the production wiring
# override it with dev_mode=False and real keys.
DEV_MODE: dict[str, Any] = {"dev_mode": True}


def docker_available() -> bool:
    if not (os.environ.get("DOCKER_HOST") or Path("/var/run/docker.sock").exists()):
        return False
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:
        return False
    return True


@dataclass
class Infra:
    """Where Kafka, PostgreSQL and Redis are for this run, and the run's private prefix."""

    kafka: str
    postgres_dsn: str
    redis_url: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    kafka_source: str = "env"

    def scope(self) -> Scope:
        """A fresh namespace (databases, topics, Redis keys) for one test."""
        return Scope(self, f"t{self.run_id}_{uuid.uuid4().hex[:6]}_")


@dataclass
class Scope:
    infra: Infra
    prefix: str

    def settings(self, cls: type[S], **overrides: Any) -> S:
        values: dict[str, Any] = {
            "kafka_bootstrap_servers": self.infra.kafka,
            "postgres_dsn": self.infra.postgres_dsn,
            "redis_url": self.infra.redis_url,
            "database_prefix": self.prefix,
            "kafka_topic_prefix": self.prefix,
            "redis_key_prefix": self.prefix,
            **DEV_MODE,
            **FAST,
            **overrides,
        }
        return cls(**{k: v for k, v in values.items() if k in cls.model_fields})

    def env(self, **overrides: Any) -> dict[str, str]:
        """Environment variables for a service started as an OS process."""
        values: dict[str, Any] = {
            "KAFKA_BOOTSTRAP_SERVERS": self.infra.kafka,
            "POSTGRES_DSN": self.infra.postgres_dsn,
            "REDIS_URL": self.infra.redis_url,
            "DATABASE_PREFIX": self.prefix,
            "KAFKA_TOPIC_PREFIX": self.prefix,
            "REDIS_KEY_PREFIX": self.prefix,
            **{k.upper(): v for k, v in {**DEV_MODE, **FAST}.items()},
            **{k.upper(): v for k, v in overrides.items()},
        }
        return {**os.environ, **{k: str(v) for k, v in values.items()}}

    def topic(self, name: str) -> str:
        return f"{self.prefix}{name}"


@contextlib.contextmanager
def provide_infra() -> Iterator[Infra]:
    """Yield the run's servers; stop whatever this run started."""
    with contextlib.ExitStack() as stack:
        use_docker = docker_available()
        kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        source = "env"
        if not kafka and use_docker:
            from testcontainers.kafka import KafkaContainer

            container = stack.enter_context(KafkaContainer().with_kraft())
            kafka, source = container.get_bootstrap_server(), "testcontainers"
        if not kafka:
            broker = start_embedded_broker()
            stack.callback(broker.stop)
            kafka, source = broker.bootstrap_servers, "embedded"
        postgres = os.environ.get("POSTGRES_DSN")
        if not postgres and use_docker:
            from testcontainers.postgres import PostgresContainer

            pg = stack.enter_context(PostgresContainer("postgres:16", driver=None))
            postgres = pg.get_connection_url().rsplit("/", 1)[0]
        redis_url = os.environ.get("REDIS_URL")
        if not redis_url and use_docker:
            from testcontainers.redis import RedisContainer

            rc = stack.enter_context(RedisContainer())
            redis_url = f"redis://{rc.get_container_host_ip()}:{rc.get_exposed_port(6379)}/0"
        yield Infra(
            kafka=kafka,
            postgres_dsn=postgres or "postgresql://postgres@127.0.0.1:5432",
            redis_url=redis_url or "redis://127.0.0.1:6379/0",
            kafka_source=source,
        )


def bench_infra() -> tuple[Infra, EmbeddedBroker | None]:
    """The servers of a benchmark: `KAFKA_BOOTSTRAP_SERVERS`, `POSTGRES_DSN` and `REDIS_URL`
    from the environment, else an embedded broker (returned, for the caller to stop) and the
    local PostgreSQL and Redis."""
    broker = None
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not kafka:
        broker = start_embedded_broker()
        kafka = broker.bootstrap_servers
    infra = Infra(
        kafka=kafka,
        postgres_dsn=os.environ.get("POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432"),
        redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    )
    return infra, broker
