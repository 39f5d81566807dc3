"""Reading topics and consumer-group progress from tests, with a plain aiokafka client."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.events import Envelope, encode, headers_of
from shared.kafka import read_all

__all__ = ["group_lag", "publish", "read_all"]


async def group_lag(bootstrap: str, group: str, topic: str) -> int:
    """Messages on the topic not yet committed by the group (all partitions)."""
    # A consumer that names the group but never joins it can read the group's commits.
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in partitions]
        ends = await consumer.end_offsets(tps)
        lag = 0
        for tp in tps:
            done = await consumer.committed(tp)
            lag += ends[tp] - (done or 0)
        return lag
    finally:
        await consumer.stop()


async def publish(
    bootstrap: str,
    topic: str,
    envelope: Envelope[Any] | None = None,
    *,
    value: bytes | None = None,
    key: bytes | None = None,
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    """Produce one message with a plain client: an event, or arbitrary bytes."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        if envelope is not None:
            value = encode(envelope)
            key = envelope.account_id.encode()
            headers = headers_of(envelope)
        await producer.send_and_wait(topic, value=value, key=key, headers=headers or [])
    finally:
        await producer.stop()
