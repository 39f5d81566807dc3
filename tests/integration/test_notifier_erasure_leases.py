"""The notifier's erasure as a due row (CAN-7, ARCHITECTURE "Timers") on real PostgreSQL,
driven by hand with a fixed clock: claims never overlap, a worker that dies after its claim
holds the erasure only until its lease runs out, and the erasure and its confirmation happen
once whoever runs it. No broker: the service layer and the adapters only."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

import services.notifier
from devkit.testing.infra import Scope
from services.notifier.domain.catalogue import Notify
from services.notifier.domain.routing import Contacts
from services.notifier.service_layer.erasure import ErasureRunner, schedule_erasure
from services.notifier.service_layer.notifications import learn_contacts, queue_notification
from services.notifier.settings import NotifierSettings
from shared.clock import FixedClock
from shared.db import drop_database, ensure_database, make_engine, migrate
from shared.unit_of_work import UnitOfWork

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 22, 8, 30, tzinfo=UTC)
LEASE_S = 30.0
MIGRATIONS = Path(services.notifier.__file__).parent / "migrations"
ACCOUNT = "100000000077"


class Db:
    def __init__(self, engine: AsyncEngine, settings: NotifierSettings) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = FixedClock(T0)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine, on_commit=lambda: None, clock=self.clock)

    def runner(self, clock: FixedClock | None = None) -> ErasureRunner:
        def uow() -> UnitOfWork:
            return UnitOfWork(self.engine, on_commit=lambda: None, clock=clock or self.clock)

        return ErasureRunner(unit_of_work=uow, clock=clock or self.clock, settings=self.settings)

    async def scalar(self, sql: str, *args: object) -> object:
        async with self.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            return await raw.driver_connection.fetchval(sql, *args)  # type: ignore[union-attr]


@pytest.fixture
async def db(scope: Scope) -> AsyncIterator[Db]:
    settings = scope.settings(NotifierSettings, erasure_lease_s=LEASE_S, erasure_max_wait_s=3600.0)
    await ensure_database(settings.postgres_dsn, settings.database_name)
    engine = make_engine(settings.database_url)
    try:
        await migrate(settings.database_url, MIGRATIONS)
        yield Db(engine, settings)
    finally:
        await engine.dispose()
        await drop_database(settings.postgres_dsn, settings.database_name)


async def completed(db: Db, *, with_notice: bool = False) -> uuid.UUID:
    """The account's contacts, then its CancellationCompleted (the notice's deliveries only
    when asked: they keep the erasure waiting)."""
    source = uuid.uuid4()
    async with db.uow() as uow:
        contacts = Contacts(secure_phone="+8618112341234", secure_email="p@example.com")
        await learn_contacts(uow, ACCOUNT, contacts, T0)
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
            max_wait=timedelta(hours=1),
        )
    return source


async def confirmations(db: Db) -> object:
    return await db.scalar(
        "SELECT count(*) FROM outbox WHERE headers->>'event_type' = 'NotifierDataErased'"
    )


async def test_can_7_two_workers_claiming_at_once_never_both_get_the_erasure(db: Db) -> None:
    """ARCHITECTURE "Timers": FOR UPDATE SKIP LOCKED; one claim, one erasure, one event."""
    await completed(db)
    first, second = db.runner(), db.runner()
    claims = await asyncio.gather(first.claim(10), second.claim(10))
    assert sorted(len(c) for c in claims) == [0, 1]
    (claim,) = claims[0] or claims[1]
    assert await (first if claims[0] else second).run(claim) is True
    assert await confirmations(db) == 1
    assert await db.scalar("SELECT count(*) FROM contacts") == 0


async def test_can_7_a_worker_that_died_after_its_claim_holds_the_erasure_until_its_lease_ends(
    db: Db,
) -> None:
    """CAN-7: the claim of a worker that never ran it (killed) keeps others off until the
    lease runs out; then another worker erases, once; the dead worker's claim, run late,
    changes nothing."""
    await completed(db)
    dead = db.runner(FixedClock(T0))
    (stale,) = await dead.claim(10)
    later = FixedClock(T0 + timedelta(seconds=LEASE_S - 1))
    assert await db.runner(later).claim(10) == []
    after = FixedClock(T0 + timedelta(seconds=LEASE_S + 1))
    survivor = db.runner(after)
    (claim,) = await survivor.claim(10)
    assert claim.token != stale.token and claim.erasure.attempts == 2
    assert await survivor.run(claim) is True
    assert await dead.run(stale) is False
    assert await confirmations(db) == 1
    assert await db.scalar("SELECT state FROM erasures") == "done"


async def test_can_7_an_erasure_waits_for_the_completion_notice_as_a_due_row(db: Db) -> None:
    """CAN-7, CAN-8: with the completion notice still queued, the run puts the erasure back,
    due after ERASURE_RECHECK_S (a row, not a sleep), and erases nothing."""
    await completed(db, with_notice=True)
    runner = db.runner()
    (claim,) = await runner.claim(10)
    assert await runner.run(claim) is False
    assert await db.scalar("SELECT state FROM erasures") == "scheduled"
    due = await db.scalar("SELECT due_at FROM erasures")
    assert due == T0 + timedelta(seconds=db.settings.erasure_recheck_s)
    assert await db.scalar("SELECT count(*) FROM contacts") == 1
    assert await confirmations(db) == 0
    assert await runner.claim(10) == []  # not due before then
