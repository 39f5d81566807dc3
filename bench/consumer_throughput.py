"""Consume throughput of the consumer machinery next to raw aiokafka, on the same events.

    .venv/bin/python bench/consumer_throughput.py --n 20000 [--batch-max 500] [--partitions 3]

Starts its own embedded broker (unless KAFKA_BOOTSTRAP_SERVERS is set) and uses the local
PostgreSQL (POSTGRES_DSN, default postgresql://postgres@127.0.0.1:5432), in a throw-away
database. It puts N AccountRegistered events on identity.events, then:

- raw: a plain aiokafka consumer reads the N events (no decoding, no database);
- ours: `shared.consumer.EventConsumer` reads the same N events through FastStream's batch
  subscriber, decodes and validates each envelope, claims the batch in the inbox and runs the
  handler in one transaction per batch, then commits the offsets; three times, each with its
  own consumer group and database: with no effect (the machinery alone), with one INSERT per
  event into verification's accounts projection (a trivial effect, one round trip each), and
  with verification's real handler, a batch handler (one INSERT per table per run of events:
  the account and its unverified real name). The
  clock starts at the first effect seen in the database (the consumer group's join is not
  consume time) and stops when all N are in the inbox.

Prints events/s of both, their ratio, and how many transactions the N events took. Not a test:
pytest does not collect it. Numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from faststream.kafka import KafkaBroker
from redis.asyncio import Redis

from devkit.broker import start_embedded_broker
from devkit.infra import drop_databases
from services.verification.adapters.tables import accounts
from services.verification.service_layer.accounts import register as on_accounts_registered
from services.verification.settings import VerificationSettings
from shared.consumer import BatchHandler, EventConsumer, EventHandler
from shared.db import ensure_database, make_engine, migrate
from shared.events import (
    AccountRegistered,
    Envelope,
    LoginMethodKind,
    Topic,
    encode,
    headers_of,
    new_envelope,
)
from shared.kafka import ensure_topics, make_producer
from shared.runtime import Runtime
from shared.service import start_subscribers
from shared.unit_of_work import UnitOfWork

MIGRATIONS = Path(__file__).parents[1] / "services" / "verification" / "migrations"


async def publish(bootstrap: str, topic: str, n: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        at = datetime.now(UTC)
        for i in range(n):
            event = new_envelope(
                AccountRegistered(registered_at=at, method=LoginMethodKind.QQ),
                producer="identity",
                account_id=f"7{i:011d}",
            )
            await producer.send(
                topic, value=encode(event), key=event.account_id.encode(), headers=headers_of(event)
            )
        await producer.flush()
    finally:
        await producer.stop()


async def raw_consume(bootstrap: str, topic: str, n: int) -> float:
    """Seconds a plain aiokafka consumer takes to read n events of the topic."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        started = time.perf_counter()
        read = 0
        while read < n:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10000)
            read += sum(len(records) for records in batch.values())
        return time.perf_counter() - started
    finally:
        await consumer.stop()


async def no_effect(uow: UnitOfWork, event: Envelope[AccountRegistered]) -> None:
    """The machinery alone: decode, inbox claim, transaction, offset commit."""


async def insert_one(uow: UnitOfWork, event: Envelope[AccountRegistered]) -> None:
    """An effect of one round trip per event: verification's projection, row by row."""
    await uow.conn.execute(
        accounts.insert().values(
            account_id=event.account_id,
            registered_at=event.payload.registered_at,
            registration_method=event.payload.method.value,
        )
    )


HANDLERS: dict[str, EventHandler | BatchHandler] = {
    "inbox only": no_effect,
    "inbox + INSERT per event": insert_one,
    "inbox + INSERT per run": on_accounts_registered,
}


async def our_consume(
    settings: VerificationSettings, n: int, handler: EventHandler | BatchHandler
) -> tuple[float, int, int]:
    """Seconds from the first effect to the n-th, the events counted from there, and the
    number of transactions that wrote the n inbox rows."""
    runtime = Runtime(
        settings=settings,
        engine=make_engine(settings.database_url),
        redis=Redis.from_url(settings.redis_url),
    )
    producer = make_producer(settings)  # for dead letters (none expected)
    await producer.start()
    broker = KafkaBroker(
        settings.kafka_bootstrap_servers, client_id="bench", logger=None, apply_types=False
    )
    consumer = EventConsumer(broker, settings, unit_of_work=runtime.uow, producer=lambda: producer)
    consumer.handle(handler)
    consumer.declare()
    db = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))
    try:
        subscribers = asyncio.create_task(start_subscribers(broker))
        first_at, first_count = 0.0, 0
        while True:
            count = await db.fetchval("SELECT count(*) FROM inbox")
            now = time.perf_counter()
            if count and not first_at:
                first_at, first_count = now, count
            if count >= n:
                break
            await asyncio.sleep(0.05)  # a count(*) is a scan: poll gently
        await subscribers
        transactions = await db.fetchval("SELECT count(DISTINCT xmin::text) FROM inbox")
        return now - first_at, n - first_count, transactions
    finally:
        await db.close()
        await broker.stop()
        await producer.stop()
        await runtime.engine.dispose()
        await runtime.redis.aclose()


async def run(args: argparse.Namespace) -> None:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    embedded = None
    if not bootstrap:
        embedded = start_embedded_broker()
        bootstrap = embedded.bootstrap_servers
    prefix = f"bench{uuid.uuid4().hex[:6]}_"
    base = dict(
        kafka_bootstrap_servers=bootstrap,
        postgres_dsn=os.environ.get("POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432"),
        database_prefix=prefix,
        kafka_topic_prefix=prefix,
        kafka_topic_partitions=args.partitions,
        consumer_batch_max=args.batch_max,
        dev_mode=True,
    )
    topic = f"{prefix}{Topic.IDENTITY_EVENTS}"
    results: dict[str, tuple[float, int, int]] = {}
    try:
        await ensure_topics(VerificationSettings(**base), [Topic.IDENTITY_EVENTS])
        await publish(bootstrap, topic, args.n)
        raw_s = await raw_consume(bootstrap, topic, args.n)
        for i, (name, handler) in enumerate(HANDLERS.items()):
            # Each run is its own service: its own consumer group and database.
            settings = VerificationSettings(**base, service_name=f"bench{i}")
            await ensure_database(settings.postgres_dsn, settings.database_name)
            await migrate(settings.database_url, MIGRATIONS)
            results[name] = await our_consume(settings, args.n, handler)
    finally:
        await drop_databases(str(base["postgres_dsn"]), prefix)
        if embedded is not None:
            embedded.stop()
    raw_rate = args.n / raw_s
    print(f"events: {args.n} on {args.partitions} partitions, batch max {args.batch_max}")
    print(f"{'raw aiokafka consume':42} {raw_rate:9.0f} events/s")
    for name, (seconds, counted, transactions) in results.items():
        rate = counted / seconds
        print(
            f"{'EventConsumer, ' + name:42} {rate:9.0f} events/s  {rate / raw_rate:6.3f} x raw"
            f"  ({counted} events in {seconds:.2f} s after the first effect,"
            f" {transactions} transactions)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="events to consume")
    parser.add_argument("--batch-max", type=int, default=500, help="CONSUMER_BATCH_MAX")
    parser.add_argument("--partitions", type=int, default=3, help="partitions of the topic")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
