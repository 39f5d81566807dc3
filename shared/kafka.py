"""Kafka plumbing: the producer, topic creation and the dead-letter writer."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream.security import BaseSecurity, SASLScram256, SASLScram512

from shared.events.topics import DLQ_CONFIGS, TOPIC_CONFIGS, Topic, dlq_name
from shared.logging import get_logger
from shared.settings import ServiceSettings

log = get_logger(__name__)


def client_options(settings: ServiceSettings) -> dict[str, Any]:
    """How every aiokafka client of the service connects: plain, or as its SASL user."""
    if settings.kafka_security_protocol == "PLAINTEXT":
        return {}
    password = settings.kafka_sasl_password
    return {
        "security_protocol": settings.kafka_security_protocol,
        "sasl_mechanism": settings.kafka_sasl_mechanism,
        "sasl_plain_username": settings.kafka_sasl_username,
        "sasl_plain_password": password.get_secret_value() if password else None,
        "ssl_context": (
            ssl.create_default_context() if settings.kafka_security_protocol == "SASL_SSL" else None
        ),
    }


def broker_security(settings: ServiceSettings) -> BaseSecurity | None:
    """The same for the FastStream broker (its subscribers' consumers)."""
    if settings.kafka_security_protocol == "PLAINTEXT":
        return None
    password = settings.kafka_sasl_password
    scram = SASLScram512 if settings.kafka_sasl_mechanism == "SCRAM-SHA-512" else SASLScram256
    return scram(
        settings.kafka_sasl_username or "",
        password.get_secret_value() if password else "",
        ssl_context=(
            ssl.create_default_context() if settings.kafka_security_protocol == "SASL_SSL" else None
        ),
        use_ssl=settings.kafka_security_protocol == "SASL_SSL",
    )


def make_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    """acks=all always; the idempotent producer only where the broker supports it."""
    return AIOKafkaProducer(
        **client_options(settings),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=settings.service_name,
        acks="all",
        enable_idempotence=settings.kafka_idempotent_producer,
        linger_ms=2,
        max_request_size=settings.kafka_max_message_bytes,
        request_timeout_ms=15000,
    )


async def ensure_topics(settings: ServiceSettings, topics: Iterable[Topic | str]) -> None:
    """Create the topics (and their dead-letter topics) the service uses, if missing."""
    prefix = settings.kafka_topic_prefix
    wanted: dict[str, NewTopic] = {}
    for topic in topics:
        name = f"{prefix}{topic}"
        config = TOPIC_CONFIGS.get(Topic(topic), {}) if topic in set(Topic) else {}
        wanted[name] = NewTopic(
            name, settings.kafka_topic_partitions, settings.kafka_replication_factor, None, config
        )
        dlq = dlq_name(name)
        dlq_config = DLQ_CONFIGS.get(Topic(topic), {}) if topic in set(Topic) else {}
        wanted[dlq] = NewTopic(dlq, 1, settings.kafka_replication_factor, None, dlq_config)
    admin = AIOKafkaAdminClient(
        **client_options(settings),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=settings.service_name,
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for name, t in wanted.items() if name not in existing]
        if missing:
            # Another service may create one of them at the same moment.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
            log.info("topics_created", topics=[t.name for t in missing])
    finally:
        await admin.close()


async def send_to_dlq(
    producer: AIOKafkaProducer,
    record: ConsumerRecord[bytes, bytes],
    *,
    consumer: str,
    reason: str,
    error: str,
) -> None:
    """Write the original bytes and headers, plus why, to <topic>.dlq; raise if it fails."""
    headers = [
        *(record.headers or ()),
        ("dlq.reason", reason.encode()),
        ("dlq.error", error[:4000].encode()),
        ("dlq.consumer", consumer.encode()),
        ("dlq.source.topic", record.topic.encode()),
        ("dlq.source.partition", str(record.partition).encode()),
        ("dlq.source.offset", str(record.offset).encode()),
        ("dlq.failed_at", datetime.now(UTC).isoformat().encode()),
    ]
    await producer.send_and_wait(
        dlq_name(record.topic), value=record.value, key=record.key, headers=headers
    )
    log.warning(
        "event_dead_lettered",
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        reason=reason,
        error=error[:500],
    )


async def read_all(bootstrap: str, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record now on the topic, all partitions, without joining a group."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in partitions]
        if not tps:
            return []
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        await consumer.seek_to_beginning(*tps)
        records: list[ConsumerRecord[bytes, bytes]] = []
        for tp in tps:
            while await consumer.position(tp) < ends[tp]:
                batch = await consumer.getmany(tp, timeout_ms=1000)
                records.extend(batch.get(tp, []))
        return records
    finally:
        await consumer.stop()
