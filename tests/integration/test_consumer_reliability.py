"""Consumers over the real broker and PostgreSQL: inbox deduplication and dead letters."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
import structlog.testing
from aiokafka import AIOKafkaProducer, ConsumerRecord

from devkit.testing.infra import Scope
from devkit.testing.kafka import group_lag, publish, read_all
from devkit.testing.services import running
from devkit.testing.waiting import eventually
from services.verification.main import spec
from services.verification.settings import VerificationSettings
from shared.events import (
    AccountRegistered,
    Envelope,
    LoginMethodKind,
    encode,
    headers_of,
    new_envelope,
)
from shared.kafka import ensure_topics

pytestmark = pytest.mark.integration

TOPIC = "identity.events"


def registered(account_id: str) -> Envelope[Any]:
    return new_envelope(
        AccountRegistered(registered_at=datetime.now(UTC), method=LoginMethodKind.QQ),
        producer="identity",
        account_id=account_id,
    )


async def caught_up(settings: VerificationSettings, scope: Scope) -> bool:
    group = f"{settings.consumer_group}.{TOPIC}"
    return await group_lag(settings.kafka_bootstrap_servers, group, scope.topic(TOPIC)) == 0


async def test_the_same_event_delivered_twice_takes_effect_once(scope: Scope) -> None:
    settings = scope.settings(VerificationSettings)
    event = registered("900000000001")
    async with running(spec(settings)):
        for _ in range(2):
            await publish(settings.kafka_bootstrap_servers, scope.topic(TOPIC), event)

        async def done() -> bool:
            return await caught_up(settings, scope)

        await eventually(done, what="both deliveries committed")
        db = await asyncpg.connect(f"{scope.infra.postgres_dsn}/{settings.database_name}")
        try:
            # The projection insert is a plain INSERT: without the inbox the second delivery
            # would fail, be retried and end in the DLQ.
            assert await db.fetchval("SELECT count(*) FROM accounts") == 1
            assert await db.fetchval("SELECT count(*) FROM inbox") == 1
        finally:
            await db.close()
        dlq = await read_all(settings.kafka_bootstrap_servers, scope.topic(TOPIC) + ".dlq")
        assert dlq == []


PRODUCE_OUTSIDE = """
import asyncio, sys
from aiokafka import AIOKafkaProducer

async def main(bootstrap, topic, messages):
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    for value, headers in messages:
        await producer.send_and_wait(topic, value=value, key=b"k", headers=headers)
    await producer.stop()

asyncio.run(main(sys.argv[1], sys.argv[2], eval(sys.stdin.read())))
"""


async def produce_from_another_process(bootstrap: str, topic: str, messages: list[object]) -> None:
    """A plain aiokafka producer in its own OS process: none of our code touches the bytes."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", PRODUCE_OUTSIDE, bootstrap, topic, stdin=asyncio.subprocess.PIPE
    )
    await proc.communicate(repr(messages).encode())
    assert proc.returncode == 0


async def test_a_poison_message_goes_to_the_dlq_and_the_next_event_is_processed(
    scope: Scope,
) -> None:
    settings = scope.settings(VerificationSettings)
    bad_payload = json.loads(encode(registered("900000000002")))
    bad_payload["payload"]["method"] = "carrier-pigeon"
    valid = registered("900000000003")
    async with running(spec(settings)):
        await produce_from_another_process(
            settings.kafka_bootstrap_servers,
            scope.topic(TOPIC),
            [
                (b"{not json", [("content-type", b"application/json"), ("trace", b"\xff\xfe")]),
                (json.dumps(bad_payload).encode(), []),
                (encode(valid), []),
            ],
        )

        async def processed() -> object:
            db = await asyncpg.connect(f"{scope.infra.postgres_dsn}/{settings.database_name}")
            try:
                return await db.fetchval(
                    "SELECT account_id FROM accounts WHERE account_id = $1", valid.account_id
                )
            finally:
                await db.close()

        await eventually(processed, what="the valid event after the poison ones processed")

        async def dead_letters() -> list[ConsumerRecord[bytes, bytes]]:
            records = await read_all(settings.kafka_bootstrap_servers, scope.topic(TOPIC) + ".dlq")
            return records if len(records) >= 2 else []

        garbage, invalid = await eventually(dead_letters, what="two dead letters")
        assert garbage.value == b"{not json"
        headers = dict(garbage.headers)
        assert headers["trace"] == b"\xff\xfe"  # original headers kept byte for byte
        assert headers["content-type"] == b"application/json"
        assert headers["dlq.reason"] == b"undecodable"
        assert b"not JSON" in headers["dlq.error"]
        assert headers["dlq.source.topic"] == scope.topic(TOPIC).encode()
        assert invalid.value == json.dumps(bad_payload).encode()
        assert b"method" in dict(invalid.headers)["dlq.error"]


async def test_a_handler_that_keeps_failing_is_retried_a_bounded_number_of_times_then_dead_lettered(
    scope: Scope,
) -> None:
    settings = scope.settings(VerificationSettings, consumer_max_attempts=3)
    first = registered("900000000004")
    # Same account, another event_id: the inbox lets it through and the insert conflicts,
    # a failure no retry can fix.
    conflicting = registered("900000000004")
    follower = registered("900000000005")
    async with running(spec(settings)):
        for event in (first, conflicting, follower):
            await publish(settings.kafka_bootstrap_servers, scope.topic(TOPIC), event)

        async def dead_letter() -> list[ConsumerRecord[bytes, bytes]]:
            return await read_all(settings.kafka_bootstrap_servers, scope.topic(TOPIC) + ".dlq")

        (record,) = await eventually(dead_letter, what="the failing event dead-lettered")
        headers = dict(record.headers)
        assert headers["dlq.reason"] == b"handler_failed"
        assert b"IntegrityError" in headers["dlq.error"]
        assert record.value == encode(conflicting)

        async def done() -> bool:
            return await caught_up(settings, scope)

        await eventually(done, what="the consumer moved past the failing event")
        db = await asyncpg.connect(f"{scope.infra.postgres_dsn}/{settings.database_name}")
        try:
            ids = {r["account_id"] for r in await db.fetch("SELECT account_id FROM accounts")}
            assert ids == {"900000000004", "900000000005"}
            # The failed event's inbox claim rolled back with its effect.
            assert await db.fetchval("SELECT count(*) FROM inbox") == 2
        finally:
            await db.close()


async def publish_all(bootstrap: str, topic: str, events: list[Envelope[Any]]) -> None:
    """One record per produce request: the embedded broker reports the end offset of a
    partition written by multi-record batches as its number of batches, and the group's lag
    would never read zero."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(
                topic, value=encode(event), key=event.account_id.encode(), headers=headers_of(event)
            )
    finally:
        await producer.stop()


async def test_events_waiting_on_the_topic_take_effect_in_a_few_batch_transactions(
    scope: Scope,
) -> None:
    """Consume in batches: the inbox rows of 60 waiting events are written by a handful of
    transactions (rows of one transaction share its xmin), not one transaction per event."""
    settings = scope.settings(VerificationSettings)
    events = [registered(f"9100000000{i:02d}") for i in range(60)]
    await ensure_topics(settings, [TOPIC])
    await publish_all(settings.kafka_bootstrap_servers, scope.topic(TOPIC), events)
    async with running(spec(settings)):

        async def done() -> bool:
            return await caught_up(settings, scope)

        await eventually(done, what="every waiting event committed")
        db = await asyncpg.connect(f"{scope.infra.postgres_dsn}/{settings.database_name}")
        try:
            assert await db.fetchval("SELECT count(*) FROM accounts") == 60
            assert await db.fetchval("SELECT count(*) FROM inbox") == 60
            transactions = await db.fetchval("SELECT count(DISTINCT xmin::text) FROM inbox")
        finally:
            await db.close()
    # One fetch per partition at worst (3 partitions), a few more if the fetches trickle in.
    assert transactions <= 10, f"{transactions} transactions for 60 events"


async def test_a_failing_event_in_a_batch_loses_and_duplicates_none_of_the_others(
    scope: Scope,
) -> None:
    """The batch's transaction rolls back, the batch is replayed one event at a time: the
    failing event ends in the DLQ, every other one takes effect exactly once, repeats of an
    event within the batch included."""
    settings = scope.settings(VerificationSettings, consumer_max_attempts=2)
    events = [registered(f"9200000000{i:02d}") for i in range(30)]
    conflicting = registered(events[10].account_id)  # another event_id, same account: fails
    repeated = events[20]  # the same event twice on the topic
    waiting = [*events[:15], conflicting, *events[15:], repeated]
    await ensure_topics(settings, [TOPIC])
    await publish_all(settings.kafka_bootstrap_servers, scope.topic(TOPIC), waiting)
    async with running(spec(settings)):

        async def done() -> bool:
            return await caught_up(settings, scope)

        await eventually(done, what="the batch committed past the failing event")
        db = await asyncpg.connect(f"{scope.infra.postgres_dsn}/{settings.database_name}")
        try:
            ids = {r["account_id"] for r in await db.fetch("SELECT account_id FROM accounts")}
            claimed = {r["event_id"] for r in await db.fetch("SELECT event_id FROM inbox")}
        finally:
            await db.close()
        dlq = await read_all(settings.kafka_bootstrap_servers, scope.topic(TOPIC) + ".dlq")
    assert ids == {e.account_id for e in events}
    assert claimed == {e.event_id for e in events}
    assert [r.value for r in dlq] == [encode(conflicting)]
    assert dict(dlq[0].headers)["dlq.reason"] == b"handler_failed"


async def test_while_the_database_refuses_connections_events_wait_and_none_is_dead_lettered(
    scope: Scope,
) -> None:
    """A dependency down is no reason to dead-letter: the consumer re-reads the batch until
    PostgreSQL takes connections again, then every event takes effect once."""
    settings = scope.settings(VerificationSettings, consumer_max_attempts=2)
    events = [registered(f"9300000000{i:02d}") for i in range(5)]
    admin = await asyncpg.connect(f"{scope.infra.postgres_dsn}/postgres")
    name = settings.database_name
    try:
        async with running(spec(settings)):
            with structlog.testing.capture_logs() as logs:
                await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                await admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                    name,
                )
                await publish_all(settings.kafka_bootstrap_servers, scope.topic(TOPIC), events)

                async def refused_twice() -> bool:
                    down = [e for e in logs if e["event"] == "event_dependency_down"]
                    return len(down) >= 2  # more tries than consumer_max_attempts allows

                await eventually(refused_twice, what="the consumer meeting the refusal")
                await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')

            async def done() -> bool:
                return await caught_up(settings, scope)

            await eventually(done, what="the waiting events committed")
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()
    db = await asyncpg.connect(f"{scope.infra.postgres_dsn}/{name}")
    try:
        assert await db.fetchval("SELECT count(*) FROM accounts") == 5
    finally:
        await db.close()
    assert await read_all(settings.kafka_bootstrap_servers, scope.topic(TOPIC) + ".dlq") == []
