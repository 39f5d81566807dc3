"""The notifier's erasure as a timer (CAN-7, ARCHITECTURE "Timers", shared/timers) on real
PostgreSQL, driven by hand with a fixed clock: claims never overlap, a worker that dies after
its claim holds the erasure only until its lease runs out, the erasure and its confirmation
happen once whoever runs it, waiting for the notice postpones the same timer, a completion
brings a tombstone's timer forward and never waits for a worker firing it, and the migration
turns pending erasures into timers.
No broker: the shared runner over the notifier's table, the service layer and the adapters.

The shared mechanism's own guarantees on another service's table (a cancelled timer never
comes due, a failed effect is retried) are proven in tests/integration/verification/
test_timers.py; finished timers leaving with retention in tests/integration/
test_timer_retention.py."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

import services.notifier
from devkit.testing.infra import Scope
from services.notifier.domain.catalogue import Notify
from services.notifier.domain.routing import Contacts
from services.notifier.service_layer.erasure import contacts_tombstoned, schedule_erasure
from services.notifier.service_layer.notifications import learn_contacts, queue_notification
from services.notifier.service_layer.timers import timer_runner
from services.notifier.settings import NotifierSettings
from shared.clock import FixedClock
from shared.db import drop_database, ensure_database, make_engine, migrate
from shared.migrations import migrations_config
from shared.runtime import Runtime
from shared.timers import TimerRunner
from shared.unit_of_work import UnitOfWork

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 22, 8, 30, tzinfo=UTC)
LEASE_S = 30.0
MAX_WAIT = timedelta(hours=1)
MIGRATIONS = Path(services.notifier.__file__).parent / "migrations"
ACCOUNT = "100000000077"


class Db:
    def __init__(self, engine: AsyncEngine, settings: NotifierSettings) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = FixedClock(T0)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine, on_commit=lambda: None, clock=self.clock)

    def runner(self, clock: FixedClock | None = None) -> TimerRunner:
        """The notifier's timer runner, as its worker builds it, at a clock of the test's."""
        runtime = Runtime(
            settings=self.settings, engine=self.engine, redis=Redis(), clock=clock or self.clock
        )
        return timer_runner(runtime, self.settings)

    async def scalar(self, sql: str, *args: object) -> object:
        async with self.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            return await raw.driver_connection.fetchval(sql, *args)  # type: ignore[union-attr]


@pytest.fixture
async def db(scope: Scope) -> AsyncIterator[Db]:
    settings = scope.settings(NotifierSettings, timer_lease_s=LEASE_S, erasure_max_wait_s=3600.0)
    await ensure_database(settings.postgres_dsn, settings.database_name)
    engine = make_engine(settings.database_url)
    try:
        await migrate(settings.database_url, MIGRATIONS)
        yield Db(engine, settings)
    finally:
        await engine.dispose()
        await drop_database(settings.postgres_dsn, settings.database_name)


async def learned(db: Db) -> None:
    async with db.uow() as uow:
        contacts = Contacts(secure_phone="+8618112341234", secure_email="p@example.com")
        await learn_contacts(uow, ACCOUNT, contacts, T0)


async def completed(db: Db, *, with_notice: bool = False) -> uuid.UUID:
    """The account's contacts, then its CancellationCompleted (the notice's deliveries only
    when asked: they keep the erasure waiting)."""
    source = uuid.uuid4()
    await learned(db)
    async with db.uow() as uow:
        if with_notice:
            await queue_notification(
                uow,
                Notify(
                    source_event_id=source,
                    account_id=ACCOUNT,
                    message_type="cancellation_completed",
                    params={"account_id": ACCOUNT, "application_id": "a1", "at": "x"},
                ),
            )
        await schedule_erasure(
            uow,
            ACCOUNT,
            application_id="a1",
            source_event_id=source,
            correlation_id=None,
            max_wait=MAX_WAIT,
        )
    return source


async def confirmations(db: Db) -> object:
    return await db.scalar(
        "SELECT count(*) FROM outbox WHERE headers->>'event_type' = 'NotifierDataErased'"
    )


async def erased(db: Db) -> object:
    return await db.scalar("SELECT erased_at IS NOT NULL FROM erasures")


async def test_can_7_two_workers_claiming_at_once_never_both_get_the_erasure(db: Db) -> None:
    """ARCHITECTURE "Timers": FOR UPDATE SKIP LOCKED; one claim, one erasure, one event."""
    await completed(db)
    first, second = db.runner(), db.runner()
    claims = await asyncio.gather(first.claim(10), second.claim(10))
    assert sorted(len(c) for c in claims) == [0, 1]
    (claim,) = claims[0] or claims[1]
    assert claim.timer.kind == "erasure" and claim.timer.ref == ACCOUNT
    assert await (first if claims[0] else second).fire(claim) is True
    assert await confirmations(db) == 1
    assert await db.scalar("SELECT count(*) FROM contacts") == 0
    assert await erased(db) is True


async def test_can_7_a_worker_that_died_after_its_claim_holds_the_erasure_until_its_lease_ends(
    db: Db,
) -> None:
    """CAN-7: the claim of a worker that never ran it (killed) keeps others off until the
    lease (TIMER_LEASE_S) runs out; then another worker erases, once; the dead worker's
    claim, run late, changes nothing."""
    await completed(db)
    dead = db.runner(FixedClock(T0))
    (stale,) = await dead.claim(10)
    later = FixedClock(T0 + timedelta(seconds=LEASE_S - 1))
    assert await db.runner(later).claim(10) == []
    after = FixedClock(T0 + timedelta(seconds=LEASE_S + 1))
    survivor = db.runner(after)
    (claim,) = await survivor.claim(10)
    assert claim.token != stale.token and claim.timer.attempts == 2
    assert await survivor.fire(claim) is True
    assert await dead.fire(stale) is False
    assert await confirmations(db) == 1
    assert await erased(db) is True
    assert await db.scalar("SELECT state FROM timers") == "done"


async def test_can_7_an_erasure_waits_for_the_completion_notice_as_a_due_row(db: Db) -> None:
    """CAN-7, CAN-8: with the completion notice still queued, the effect postpones the same
    timer, due after ERASURE_RECHECK_S (a row, not a sleep), and erases nothing."""
    await completed(db, with_notice=True)
    runner = db.runner()
    (claim,) = await runner.claim(10)
    assert await runner.fire(claim) is True
    assert await db.scalar("SELECT count(*) FROM timers") == 1, "the same row, not a new one"
    assert await db.scalar("SELECT state FROM timers") == "scheduled"
    assert await db.scalar("SELECT done_at FROM timers") is None, "live: never pruned"
    due = await db.scalar("SELECT due_at FROM timers")
    assert due == T0 + timedelta(seconds=db.settings.erasure_recheck_s)
    assert await erased(db) is False
    assert await db.scalar("SELECT count(*) FROM contacts") == 1
    assert await confirmations(db) == 0
    assert await runner.claim(10) == []  # not due before then


async def test_can_7_a_completion_brings_the_tombstones_erasure_forward(db: Db) -> None:
    """CAN-7: identity's tombstone alone schedules the erasure at its bound
    (ERASURE_MAX_WAIT_S); the completion that follows makes the same timer due now, and the
    erasure then confirms once."""
    await learned(db)
    async with db.uow() as uow:
        await contacts_tombstoned(uow, ACCOUNT, max_wait=MAX_WAIT)
    assert await db.scalar("SELECT due_at FROM timers") == T0 + MAX_WAIT
    assert await db.runner().claim(10) == []

    await completed(db)

    assert await db.scalar("SELECT count(*) FROM timers") == 1
    assert await db.scalar("SELECT due_at FROM timers") == T0
    runner = db.runner()
    (claim,) = await runner.claim(10)
    assert await runner.fire(claim) is True
    assert await erased(db) is True
    assert await db.scalar("SELECT application_id FROM erasures") == "a1"
    assert await confirmations(db) == 1


async def test_migration_0007_turns_pending_erasures_into_timers(scope: Scope) -> None:
    """The upgrade from the notifier's own due rows (0006) to shared/timers (0007): a
    scheduled erasure keeps its due time, a claimed one is due when its lease ends, an erased
    one gets no timer; every record stays."""
    settings = scope.settings(NotifierSettings)
    config = migrations_config(settings.database_url, MIGRATIONS)
    await ensure_database(settings.postgres_dsn, settings.database_name)
    engine = make_engine(settings.database_url)
    db = Db(engine, settings)
    try:
        await asyncio.to_thread(command.upgrade, config, "0006")
        async with engine.begin() as conn:
            raw = await conn.get_raw_connection()
            await raw.driver_connection.execute(  # type: ignore[union-attr]
                """INSERT INTO erasures (account_id, state, requested_at, erase_by, due_at,
                                         lease_until, attempts, erased_at)
                VALUES ('a-scheduled', 'scheduled', $1, $1::timestamptz + interval '1 hour',
                        $1::timestamptz + interval '2 seconds', NULL, 3, NULL),
                       ('a-claimed', 'claimed', $1, $1::timestamptz + interval '1 hour', $1,
                        $1::timestamptz + interval '30 seconds', 1, NULL),
                       ('a-done', 'done', $1, $1::timestamptz + interval '1 hour', $1, NULL,
                        1, $1)""",
                T0,
            )
        await migrate(settings.database_url, MIGRATIONS)

        assert await db.scalar("SELECT count(*) FROM erasures") == 3
        assert await db.scalar("SELECT count(*) FROM timers") == 2
        assert await db.scalar("SELECT due_at FROM timers WHERE ref = 'a-scheduled'") == (
            T0 + timedelta(seconds=2)
        )
        assert await db.scalar("SELECT due_at FROM timers WHERE ref = 'a-claimed'") == (
            T0 + timedelta(seconds=30)
        )
        assert (
            await db.scalar(
                "SELECT count(*) FROM timers WHERE kind = 'erasure' AND ref = account_id"
                " AND state = 'scheduled' AND claim_token IS NULL"
            )
            == 2
        )
    finally:
        await engine.dispose()
        await drop_database(settings.postgres_dsn, settings.database_name)


async def test_can_7_a_completion_never_waits_for_a_worker_firing_the_tombstones_erasure(
    db: Db,
) -> None:
    """CAN-7: the tombstone's timer is being fired (its row locked by the worker's
    transaction) when CancellationCompleted is handled: the completion records itself
    without waiting for that worker (which would then wait for the erasure record the
    completion holds: a deadlock), leaving the timer to it; the erasure then confirms once."""
    await learned(db)
    async with db.uow() as uow:
        await contacts_tombstoned(uow, ACCOUNT, max_wait=MAX_WAIT)
    async with db.engine.connect() as firing:
        raw = (await firing.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.execute("BEGIN")
        await raw.execute("SELECT id FROM timers FOR UPDATE")  # the worker's finish holds it

        await asyncio.wait_for(completed(db), timeout=30)  # no deadlock, no wait

        await raw.execute("ROLLBACK")
    assert await db.scalar("SELECT due_at FROM timers") == T0 + MAX_WAIT, "left to its worker"
    assert await db.scalar("SELECT application_id FROM erasures") == "a1"
    at_bound = db.runner(FixedClock(T0 + MAX_WAIT))
    (claim,) = await at_bound.claim(10)
    assert await at_bound.fire(claim) is True
    assert await erased(db) is True
    assert await confirmations(db) == 1
