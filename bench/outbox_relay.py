"""Outbox relay throughput, next to raw aiokafka producing the same events.

    .venv/bin/python bench/outbox_relay.py --n 20000 [--batch-size 200]

Starts its own embedded broker (unless KAFKA_BOOTSTRAP_SERVERS is set) and a throw-away
database with the verification service's migrations (any service's outbox is the same table)
on the local PostgreSQL. It commits N AccountRegistered events to the outbox (over 500
accounts, 3 partitions) and measures:

- relay events/s: the relay (started as a service starts it, leader election included) from
  its start until the last row is marked sent;
- raw produce/s: a plain aiokafka producer with the service's producer settings (acks=all,
  linger 2 ms) sending the same bytes, keys and headers from memory, all in flight, then
  waiting for every ack: the ceiling of any relay;
- the ratio relay / raw (the target is at least 0.25).

Not a test: pytest does not collect it. Numbers depend on the machine; see the README.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from aiokafka import AIOKafkaProducer

import services
from devkit.broker import start_embedded_broker
from shared.db import drop_database, ensure_database, make_engine, migrate
from shared.events import AccountRegistered, LoginMethodKind, encode, headers_of, new_envelope
from shared.kafka import ensure_topics, make_producer
from shared.logging import configure_logging
from shared.outbox import OutboxRelay, outbox_table
from shared.settings import ServiceSettings

TOPIC = "identity.events"


def rows(n: int, topic: str) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for i in range(n):
        envelope = new_envelope(
            AccountRegistered(registered_at=datetime.now(UTC), method=LoginMethodKind.QQ),
            producer="bench",
            account_id=str(100000000000 + i % 500),
        )
        out.append(
            {
                "event_id": envelope.event_id,
                "topic": topic,
                "key": envelope.account_id,
                "value": encode(envelope),
                "headers": {k: v.decode() for k, v in headers_of(envelope)},
            }
        )
    return out


async def relay_rate(settings: ServiceSettings, batch: list[dict[str, object]]) -> float:
    engine = make_engine(settings.database_url)
    producer = make_producer(settings)
    await producer.start()
    try:
        async with engine.begin() as conn:
            for start in range(0, len(batch), 2000):
                await conn.execute(outbox_table.insert(), batch[start : start + 2000])
        relay = OutboxRelay(
            engine,
            producer,
            dsn=settings.database_url,
            service=settings.service_name,
            batch_size=settings.outbox_batch_size,
            poll_interval_s=settings.outbox_poll_interval_s,
        )
        unsent = sa.select(sa.func.count()).where(outbox_table.c.sent_at.is_(None))
        started = time.perf_counter()
        relay.start()
        relay.wake()
        while True:
            async with engine.connect() as conn:
                if await conn.scalar(unsent) == 0:
                    break
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - started
        await relay.stop()
        return len(batch) / elapsed
    finally:
        await producer.stop()
        await engine.dispose()


async def raw_rate(settings: ServiceSettings, batch: list[dict[str, object]]) -> float:
    producer: AIOKafkaProducer = make_producer(settings)
    await producer.start()
    try:
        started = time.perf_counter()
        futures = []
        for row in batch:
            headers = row["headers"]
            assert isinstance(headers, dict)
            futures.append(
                await producer.send(
                    str(row["topic"]),
                    value=row["value"],
                    key=str(row["key"]).encode(),
                    headers=[(k, str(v).encode()) for k, v in headers.items()],
                )
            )
        await asyncio.gather(*futures)
        return len(batch) / (time.perf_counter() - started)
    finally:
        await producer.stop()


async def run(args: argparse.Namespace) -> None:
    configure_logging("bench", "WARNING", False)
    broker = None
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not kafka:
        broker = start_embedded_broker()
        kafka = broker.bootstrap_servers
    prefix = f"bench_{uuid.uuid4().hex[:6]}_"
    settings = ServiceSettings(
        service_name="relaybench",
        kafka_bootstrap_servers=kafka,
        kafka_topic_prefix=prefix,
        database_prefix=prefix,
        postgres_dsn=os.environ.get("POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432"),
        outbox_batch_size=args.batch_size,
        log_level="WARNING",
    )
    migrations = Path(services.__file__).parent / "verification" / "migrations"
    await ensure_database(settings.postgres_dsn, settings.database_name)
    try:
        await migrate(settings.database_url, migrations)
        await ensure_topics(settings, [TOPIC])
        topic = f"{prefix}{TOPIC}"
        await raw_rate(settings, rows(200, topic))  # warm-up: metadata, connections
        relay = await relay_rate(settings, rows(args.n, topic))
        raw = await raw_rate(settings, rows(args.n, topic))
    finally:
        await drop_database(settings.postgres_dsn, settings.database_name)
        if broker is not None:
            broker.stop()
    print(f"events: {args.n} ({len(encode_sample())} bytes each), relay batch {args.batch_size}")
    print(f"outbox relay events/s : {relay:10,.1f}")
    print(f"raw aiokafka produce/s: {raw:10,.1f}")
    print(f"relay / raw           : {relay / raw:10.2f}  (target >= 0.25)")


def encode_sample() -> bytes:
    return encode(
        new_envelope(
            AccountRegistered(registered_at=datetime.now(UTC), method=LoginMethodKind.QQ),
            producer="bench",
            account_id="100000000000",
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="outbox relay benchmark")
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--batch-size", type=int, default=200)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
