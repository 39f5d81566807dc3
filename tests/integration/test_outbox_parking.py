"""Nothing blocks a topic: the outbox relay over the real broker and PostgreSQL.

A row Kafka can never take is parked with its reason and the rows behind it go out; a
transient send error is retried with backoff and parks nothing; `account-center-outbox`
lists and replays parked rows.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka.errors import RequestTimedOutError

from devkit.testing.infra import Scope
from devkit.testing.kafka import read_all
from devkit.testing.services import running
from devkit.testing.waiting import eventually
from services.verification.main import spec
from services.verification.settings import VerificationSettings
from shared.events import AccountRegistered, Envelope, LoginMethodKind, encode, new_envelope
from shared.outbox import OutboxRelay, outbox_table
from shared.runtime import Runtime

pytestmark = pytest.mark.integration

TOPIC = "verification.events"
TWO_MB = 2 * 1024 * 1024


def registered(account_id: str) -> Envelope[Any]:
    return new_envelope(
        AccountRegistered(registered_at=datetime.now(UTC), method=LoginMethodKind.QQ),
        producer="verification",
        account_id=account_id,
    )


def oversized(envelope: Envelope[Any]) -> bytes:
    """The event's JSON with 2 MB of padding: over the producer's 1 MiB limit."""
    data = json.loads(encode(envelope))
    data["padding"] = "x" * TWO_MB
    return json.dumps(data).encode()


async def published_ids(settings: VerificationSettings) -> list[str]:
    records = await read_all(
        settings.kafka_bootstrap_servers, f"{settings.kafka_topic_prefix}{TOPIC}"
    )
    return [json.loads(r.value)["event_id"] for r in records if r.value is not None]


async def cli(scope: Scope, *args: str) -> str:
    """account-center-outbox as an operator runs it, in its own process."""
    command = Path(sys.executable).parent / "account-center-outbox"
    env = scope.env()
    process = await asyncio.create_subprocess_exec(
        str(command),
        "verification",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    assert process.returncode == 0, out.decode()
    return out.decode()


async def test_an_oversized_row_is_parked_the_rows_behind_it_go_out_and_replay_sends_it(
    scope: Scope,
) -> None:
    settings = scope.settings(VerificationSettings)
    big = registered("900000000001")
    behind = [registered("900000000001"), registered("900000000002"), registered("900000000001")]
    async with running(spec(settings)) as (app, _):
        runtime: Runtime = app.state.runtime
        async with runtime.uow() as uow:
            await uow.conn.execute(
                outbox_table.insert().values(
                    event_id=big.event_id,
                    topic=scope.topic(TOPIC),
                    key=big.account_id,
                    value=oversized(big),
                    headers={"event_type": "AccountRegistered"},
                )
            )
            for envelope in behind:
                await uow.emit(TOPIC, envelope)

        async def behind_published() -> list[str]:
            ids = await published_ids(settings)
            return ids if len(ids) >= len(behind) else []

        ids = await eventually(behind_published, what="the rows behind the big one published")
        assert sorted(ids) == sorted(str(e.event_id) for e in behind)
        first_account = [str(e.event_id) for e in behind if e.account_id == big.account_id]
        assert [i for i in ids if i in first_account] == first_account  # its key's order kept
        assert str(big.event_id) not in ids

        listing = await cli(scope, "list")
        assert f"event_id={big.event_id}" in listing
        assert "reason=message_too_large" in listing
        assert "MessageSizeTooLargeError" in listing
        db = await asyncpg.connect(f"{scope.infra.postgres_dsn}/{settings.database_name}")
        try:
            assert await db.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0
            assert await db.fetchval("SELECT octet_length(value) FROM outbox_parked") > TWO_MB
        finally:
            await db.close()

    # The operator raises the limit (the broker takes 2 MB records) and replays the row.
    bigger = settings.model_copy(update={"kafka_max_message_bytes": 4 * 1024 * 1024})
    async with running(spec(bigger)):
        assert "1 row(s) back in the outbox" in await cli(scope, "replay", "--all")

        async def big_published() -> bool:
            return str(big.event_id) in await published_ids(settings)

        await eventually(big_published, what="the replayed row published")
        assert "\n#" not in "\n" + await cli(scope, "list")
    assert len(await published_ids(settings)) == len(behind) + 1


class FlakyProducer:
    """The real producer, except that the first `failures` sends time out at the broker
    (as when it is unreachable: every record of a batch fails alike)."""

    def __init__(self, producer: Any, failures: int) -> None:
        self._producer = producer
        self.failures = failures

    async def send(self, topic: str, **kwargs: Any) -> asyncio.Future[Any]:
        if self.failures > 0:
            self.failures -= 1
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            future.set_exception(RequestTimedOutError())
            return future
        result: asyncio.Future[Any] = await self._producer.send(topic, **kwargs)
        return result


async def test_a_transient_send_error_is_retried_in_order_and_parks_nothing(scope: Scope) -> None:
    settings = scope.settings(VerificationSettings, outbox_relay_enabled=False)
    events = [registered("900000000003") for _ in range(5)]
    async with running(spec(settings)) as (app, _):
        runtime: Runtime = app.state.runtime
        flaky = FlakyProducer(runtime.producer, failures=2 * len(events))  # two batches
        relay = OutboxRelay(
            runtime.engine,
            flaky,  # type: ignore[arg-type]
            dsn=settings.database_url,
            service=f"{settings.service_name}-flaky",
            batch_size=10,
            poll_interval_s=0.05,
            retry_backoff_s=0.05,
        )
        async with runtime.uow() as uow:
            for envelope in events:
                await uow.emit(TOPIC, envelope)
        relay.start()
        try:

            async def all_published() -> list[str]:
                ids = await published_ids(settings)
                return ids if len(set(ids)) == len(events) else []

            ids = await eventually(all_published, what="every row published after the retries")
        finally:
            await relay.stop()
        assert flaky.failures == 0
        assert ids == [str(e.event_id) for e in events]  # once each, in commit order
        db = await asyncpg.connect(f"{scope.infra.postgres_dsn}/{settings.database_name}")
        try:
            assert await db.fetchval("SELECT count(*) FROM outbox_parked") == 0
            assert await db.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0
        finally:
            await db.close()


class SlowAcks:
    """The real producer, whose acks arrive `delay_s` late; counts the rows handed over."""

    def __init__(self, producer: Any, delay_s: float) -> None:
        self._producer = producer
        self._delay_s = delay_s
        self.handed_over = 0

    async def send(self, topic: str, **kwargs: Any) -> asyncio.Future[Any]:
        real: asyncio.Future[Any] = await self._producer.send(topic, **kwargs)
        self.handed_over += 1

        async def late() -> Any:
            result = await real
            await asyncio.sleep(self._delay_s)
            return result

        return asyncio.ensure_future(late())


async def test_a_stopping_relay_settles_what_it_handed_over_so_a_restart_repeats_nothing(
    scope: Scope,
) -> None:
    """A graceful stop while a batch awaits its acks: the relay takes no new rows, waits for
    the acks and marks the batch sent, so nothing is published twice after a restart."""
    settings = scope.settings(VerificationSettings, outbox_relay_enabled=False)
    events = [registered("900000000004") for _ in range(5)]
    async with running(spec(settings)) as (app, _):
        runtime: Runtime = app.state.runtime
        slow = SlowAcks(runtime.producer, delay_s=0.5)
        relay = OutboxRelay(
            runtime.engine,
            slow,  # type: ignore[arg-type]
            dsn=settings.database_url,
            service=f"{settings.service_name}-slow",
            batch_size=10,
            poll_interval_s=0.05,
        )
        async with runtime.uow() as uow:
            for envelope in events:
                await uow.emit(TOPIC, envelope)
        relay.start()

        async def in_flight() -> bool:
            return slow.handed_over == len(events)

        await eventually(in_flight, what="the batch handed to the producer")
        await relay.stop()  # the acks are still 0.5 s away
        db = await asyncpg.connect(f"{scope.infra.postgres_dsn}/{settings.database_name}")
        try:
            assert await db.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0
        finally:
            await db.close()

        async def all_published() -> list[str]:
            ids = await published_ids(settings)
            return ids if len(set(ids)) == len(events) else []

        ids = await eventually(all_published, what="the batch on the topic")
        assert ids == [str(e.event_id) for e in events]  # once each
