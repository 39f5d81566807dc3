"""Notifier throughput and latency against the local sinks, with raw Kafka as the baseline.

    .venv/bin/python bench/notifier_throughput.py --n 500 [--channel sms|email|mixed]

Starts its own embedded broker (unless KAFKA_BOOTSTRAP_SERVERS is set), the SMS and mail
sinks in this process and the notifier as its own OS process (`notifier-service`) against
the local PostgreSQL and Redis, in a throw-away database. After a warm-up message (consumer
groups joined), it publishes N NotificationRequested events (one-time codes, each to its own
destination) and measures:

- delivered/s: N / (last message at a sink - first publish);
- p50/p99 latency from publishing an event to its message arriving at the sink;
- the baseline: a plain aiokafka consumer reading the same N events from the topic;
- the ratio baseline / notifier.

Not a test: pytest does not collect it. Numbers depend on the machine; see the README.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.devtools.broker import free_port, start_embedded_broker
from shared.devtools.infra import drop_databases
from shared.devtools.mailsink import MailSink
from shared.devtools.smssink import SmsSink
from shared.events import (
    Channel,
    NotificationRequested,
    encode,
    headers_of,
    new_envelope,
)
from shared.testing.services import ServiceProcess

TOPIC = "notifier.requests"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Bench:
    def __init__(self, n: int, channel: str, bootstrap: str, prefix: str) -> None:
        self.n = n
        self.channel = channel
        self.bootstrap = bootstrap
        self.topic = f"{prefix}{TOPIC}"
        self.sms = SmsSink().start()
        self.mail = MailSink(free_port())
        self.mail.start()

    def stop(self) -> None:
        self.sms.stop()
        self.mail.stop()

    def arrivals(self) -> dict[str, float]:
        got = {m.phone_number: m.received_at for m in self.sms.snapshot()}
        got.update({to: m.received_at for m in self.mail.snapshot() for to in m.rcpt_to})
        return got

    def destination(self, tag: str, i: int) -> tuple[Channel, str]:
        sms = self.channel == "sms" or (self.channel == "mixed" and i % 2 == 0)
        if sms:
            return Channel.SMS, f"+86180{tag}{i:05d}"
        return Channel.EMAIL, f"bench{tag}.{i}@example.com"

    async def publish(self, producer: AIOKafkaProducer, tag: str, count: int) -> dict[str, float]:
        sent_at: dict[str, float] = {}
        for i in range(count):
            channel, to = self.destination(tag, i)
            event = new_envelope(
                NotificationRequested(
                    message_type="verification_code",
                    channel=channel,
                    destination=to,
                    params={"code": f"{i % 1000000:06d}", "minutes": "5"},
                ),
                producer="identity",  # the notifier takes requests from identity only
                account_id=f"9{i:011d}",
            )
            sent_at[to] = time.time()
            await producer.send(
                self.topic,
                value=encode(event),
                key=event.account_id.encode(),
                headers=headers_of(event),
            )
        await producer.flush()
        return sent_at

    async def wait_for(self, wanted: set[str], timeout_s: float) -> dict[str, float]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            got = self.arrivals()
            if wanted <= set(got):
                return {k: got[k] for k in wanted}
            await asyncio.sleep(0.02)
        missing = len(wanted - set(self.arrivals()))
        raise SystemExit(f"{missing} of {len(wanted)} messages not delivered in {timeout_s}s")

    async def raw_consume(self, count: int) -> float:
        """Seconds a plain aiokafka consumer takes to read `count` events of the topic."""
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            partitions = consumer.partitions_for_topic(self.topic)
            if not partitions:
                await consumer._client.force_metadata_update()
                partitions = consumer.partitions_for_topic(self.topic) or set()
            tps = [TopicPartition(self.topic, p) for p in partitions]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            started = time.monotonic()
            read = 0
            while read < count:
                batch = await consumer.getmany(timeout_ms=1000, max_records=10000)
                read += sum(len(records) for records in batch.values())
            return time.monotonic() - started
        finally:
            await consumer.stop()


async def stages(postgres: str, prefix: str, since: float) -> tuple[float, float]:
    """From the notifier's records: how long queueing took, and queueing to the last send."""
    import asyncpg

    conn = await asyncpg.connect(f"{postgres}/{prefix}notifier")
    try:
        row = await conn.fetchrow(
            "SELECT extract(epoch FROM max(created_at) - min(created_at)) AS queued,"
            " extract(epoch FROM max(finished_at) - min(created_at)) AS sent"
            " FROM deliveries WHERE created_at >= to_timestamp($1)",
            since,
        )
    finally:
        await conn.close()
    return max(float(row["queued"] or 0), 1e-3), max(float(row["sent"] or 0), 1e-3)


async def run(args: argparse.Namespace) -> None:
    broker = None
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        broker = start_embedded_broker()
        bootstrap = broker.bootstrap_servers
    postgres = os.environ.get("POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432")
    prefix = f"bench{uuid.uuid4().hex[:6]}_"
    bench = Bench(args.n, args.channel, bootstrap, prefix)
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "POSTGRES_DSN": postgres,
        "DATABASE_PREFIX": prefix,
        "KAFKA_TOPIC_PREFIX": prefix,
        "REDIS_KEY_PREFIX": prefix,
        "SMTP_PORT": str(bench.mail.port),
        "SMS_API_URL": bench.sms.url,
        "DELIVERY_CONCURRENCY": str(args.concurrency),
        "OUTBOX_POLL_INTERVAL_S": "0.1",
        "LOG_LEVEL": "WARNING",
    }
    logs = Path(tempfile.mkdtemp(prefix="notifier-bench-"))
    notifier = ServiceProcess("notifier", env, logs).start()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    try:
        await asyncio.to_thread(notifier.wait_ready, 90.0)
        await producer.start()
        print(f"notifier ready (concurrency {args.concurrency}); warming up ...", flush=True)
        warm = await bench.publish(producer, "w", 1)
        await bench.wait_for(set(warm), 120)

        sent_at = await bench.publish(producer, "m", args.n)
        arrived = await bench.wait_for(set(sent_at), args.timeout)
        first_publish = min(sent_at.values())
        last_delivery = max(arrived.values())
        elapsed = last_delivery - first_publish
        rate = args.n / elapsed
        latencies = [(arrived[k] - sent_at[k]) * 1000 for k in sent_at]
        queued_s, sent_s = await stages(postgres, prefix, first_publish)
        raw_s = await bench.raw_consume(args.n + 1)
        raw_rate = (args.n + 1) / raw_s
        duplicates = bench.sms.duplicates + bench.mail.duplicates
        delivered = len(bench.arrivals()) - 1
        print(f"events published:            {args.n} ({args.channel})")
        print(f"messages at the sinks:       {delivered} (duplicates dropped: {duplicates})")
        print(f"notifier delivered/s:        {rate:,.1f}  ({elapsed:.2f} s)")
        print(
            f"publish -> delivery latency: p50 {percentile(latencies, 0.5):,.0f} ms, "
            f"p99 {percentile(latencies, 0.99):,.0f} ms, max {max(latencies):,.0f} ms, "
            f"mean {statistics.fmean(latencies):,.0f} ms"
        )
        print(
            f"  of which: events consumed and queued {args.n / queued_s:,.1f}/s, "
            f"deliveries sent {args.n / sent_s:,.1f}/s (first queued -> last sent)"
        )
        print(f"raw aiokafka consume/s:      {raw_rate:,.1f}  ({raw_s:.3f} s for the same events)")
        print(f"ratio raw / notifier:        {raw_rate / rate:,.1f}x")
    finally:
        await producer.stop()
        notifier.stop()
        bench.stop()
        if broker is not None:
            broker.stop()
        await drop_databases(postgres, prefix)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="events to publish")
    parser.add_argument("--channel", choices=["sms", "email", "mixed"], default="sms")
    parser.add_argument("--concurrency", type=int, default=4, help="DELIVERY_CONCURRENCY")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
