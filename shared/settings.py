"""The settings base every service extends: one environment variable per setting."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Settings shared by all four services; each service subclasses it with its own."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    service_name: str = Field("service", description="Name used in logs, topics and groups.")
    http_host: str = Field("127.0.0.1", description="Address the HTTP API listens on.")
    http_port: int = Field(8000, description="Port the HTTP API listens on.")

    http_max_body_bytes: int = Field(
        65536, description="Largest request body accepted; larger ones are answered 413."
    )

    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092", description="Kafka bootstrap servers, comma separated."
    )
    kafka_idempotent_producer: bool = Field(
        False,
        description="Use the idempotent producer (on for Apache Kafka; the embedded broker "
        "refuses it).",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT",
        description="How the service talks to Kafka: PLAINTEXT (the embedded dev broker), "
        "SASL_PLAINTEXT or SASL_SSL (a broker with SASL/SCRAM users and ACLs, as compose).",
    )
    kafka_sasl_mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        "SCRAM-SHA-512", description="SASL mechanism when the protocol is SASL_*."
    )
    kafka_sasl_username: str | None = Field(
        None, description="The service's Kafka user (its principal in the broker's ACLs)."
    )
    kafka_sasl_password: SecretStr | None = Field(None, description="That user's password.")
    kafka_topic_partitions: int = Field(3, description="Partitions of topics the service creates.")
    kafka_replication_factor: int = Field(1, description="Replication of created topics.")
    kafka_topic_prefix: str = Field("", description="Prefix of every topic name (test isolation).")
    kafka_session_timeout_ms: int = Field(
        10000,
        description="Consumer session timeout; a new group member joins in about half of it "
        "on the embedded broker.",
    )
    kafka_heartbeat_interval_ms: int = Field(3000, description="Consumer heartbeat interval.")

    postgres_dsn: str = Field(
        "postgresql://postgres@127.0.0.1:5432",
        description="PostgreSQL server, without a database name.",
    )
    database_prefix: str = Field(
        "account_", description="The service's database is <prefix><service>."
    )

    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis server.")
    redis_key_prefix: str = Field("acct:", description="Prefix of every Redis key.")
    shutdown_step_timeout_s: float = Field(
        10.0,
        description="Longest wait for each step of a shutdown (broker, workers, relay, "
        "producer, Redis, database); a step that stalls is logged and skipped.",
    )
    step_up_max_age_s: int = Field(
        300,
        description="PROT-1: a protected operation needs a second factor proven this recently "
        "(the access token's `step_up_at`).",
    )

    outbox_relay_enabled: bool = Field(True, description="Run the outbox relay in this process.")
    outbox_poll_interval_s: float = Field(
        0.5, description="Longest wait before the relay looks at the outbox again."
    )
    outbox_batch_size: int = Field(
        200, description="Outbox rows the relay hands to the producer at once."
    )
    outbox_retry_backoff_s: float = Field(
        0.5, description="First wait of the relay after a transient send error; doubles."
    )
    outbox_retry_backoff_max_s: float = Field(
        30.0, description="Longest wait of the relay between retries of a transient error."
    )
    outbox_retention_s: float = Field(
        604800.0, description="How long sent outbox rows are kept (seconds; 7 days)."
    )
    inbox_retention_s: float = Field(
        1209600.0,
        description="How long inbox rows (processed event ids) are kept (seconds; 14 days). "
        "Keep it longer than the topics' retention: a redelivery older than this would take "
        "effect again.",
    )
    retention_interval_s: float = Field(
        300.0, description="How often the pruner looks for rows past retention."
    )
    retention_batch_size: int = Field(500, description="Rows the pruner deletes per transaction.")
    kafka_max_message_bytes: int = Field(
        1048576,
        description="Largest record the producer sends (max_request_size; keep it at most "
        "the broker's message.max.bytes). An outbox row over it is parked.",
    )

    consumer_batch_max: int = Field(
        500, description="Most events a subscriber takes per batch (one transaction each)."
    )
    consumer_batch_wait_ms: int = Field(
        10,
        description="How long an idle subscriber waits for records before it polls again; "
        "bounds the latency an idle consumer adds.",
    )
    consumer_fetch_wait_ms: int = Field(
        100,
        description="Longest time the broker may hold a fetch open for want of records "
        "(aiokafka fetch_max_wait_ms). Kafka answers as soon as a record arrives; the embedded "
        "broker holds the fetch to the end, so there this bounds the latency a consumer adds.",
    )
    consumer_max_attempts: int = Field(
        3, description="Tries of a failing event handler before the event goes to the DLQ."
    )
    consumer_retry_backoff_s: float = Field(
        0.2, description="First retry delay of a failing handler; doubles per try."
    )
    consumer_infra_backoff_s: float = Field(
        1.0, description="Delay before re-reading an event when a dependency is down."
    )

    identity_jwks_url: str = Field(
        "http://127.0.0.1:8001/.well-known/jwks.json",
        description="Identity's public keys (JWKS): access tokens are verified offline with "
        "them, cached, fetched again on an unknown key id.",
    )

    log_level: str = Field("INFO", description="Log level.")
    log_json: bool = Field(False, description="Log JSON lines instead of console lines.")

    def refusals(self) -> list[str]:
        """Why this configuration must not serve (e.g. a committed dev-only key outside dev
        mode), one line per setting; the service refuses to start unless it is empty."""
        problems: list[str] = []
        if self.kafka_security_protocol.startswith("SASL_") and not (
            self.kafka_sasl_username and self.kafka_sasl_password
        ):
            problems.append(
                f"KAFKA_SECURITY_PROTOCOL is {self.kafka_security_protocol} but "
                "KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD is not set"
            )
        return problems

    @property
    def database_name(self) -> str:
        return f"{self.database_prefix}{self.service_name}"

    @property
    def database_url(self) -> str:
        """SQLAlchemy URL of the service's own database."""
        base = self.postgres_dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
        return f"{base.rstrip('/')}/{self.database_name}"

    @property
    def consumer_group(self) -> str:
        return f"{self.kafka_topic_prefix}{self.service_name}"
