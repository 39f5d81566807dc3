"""`account-center-events`: watch a topic from a terminal (kcat cannot talk to Tansu 0.6).

account-center-events identity.events            # everything so far, then follow
account-center-events identity.events --no-follow
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os

from aiokafka import AIOKafkaConsumer, ConsumerRecord

from shared.kafka import read_all


def render(record: ConsumerRecord[bytes, bytes]) -> str:
    head = f"{record.topic}[{record.partition}]@{record.offset} key={(record.key or b'').decode()}"
    # A dead letter says why it was parked in its dlq.* headers (contracts/README.md).
    why = " ".join(
        f"{k}={v.decode(errors='backslashreplace')}"
        for k, v in record.headers or ()
        if k.startswith("dlq.")
    )
    if why:
        head = f"{head} {why}"
    if record.value is None:
        return f"{head} <tombstone>"
    try:
        body = json.dumps(json.loads(record.value), ensure_ascii=False)
    except ValueError:
        body = repr(record.value)
    return f"{head} {body}"


async def tail(bootstrap: str, topic: str, follow: bool) -> None:
    """Print the topic from the beginning; without follow, stop at the end it had at start."""
    if not follow:
        for record in await read_all(bootstrap, topic):
            print(render(record), flush=True)
        return
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        async for record in consumer:
            print(render(record), flush=True)
    finally:
        await consumer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("topic", help="e.g. identity.events, identity.events.dlq")
    parser.add_argument("--no-follow", action="store_true", help="stop when caught up")
    parser.add_argument(
        "--bootstrap",
        default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        help="Kafka bootstrap servers (default: $KAFKA_BOOTSTRAP_SERVERS or 127.0.0.1:9092)",
    )
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(tail(args.bootstrap, args.topic, not args.no_follow))
