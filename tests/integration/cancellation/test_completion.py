"""CAN-6 and CAN-7 (cancellation's side) over the real broker and PostgreSQL: the timer
worker ends each application once its cooling-off is over (completed with every
precondition met, else rejected with the reasons); a fact arriving during cooling-off
re-evaluates at once (a late bill rejects with ARREARS); withdrawal and completion race on
the application's lock and exactly one wins; cancellation erases what it projected in the
completion transaction and records its own and the other services' erasure confirmations."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from devkit.testing.facts import billing, publish_fact
from devkit.testing.infra import Infra
from devkit.testing.kafka import group_lag, read_all
from devkit.testing.waiting import eventually
from services.cancellation.adapters.repository import Accounts
from services.cancellation.adapters.tables import (
    applications,
    erasures,
    standings,
    sub_accounts,
    timers,
)
from services.cancellation.adapters.timers import Timers
from services.cancellation.service_layer.applications import settings_of
from services.cancellation.service_layer.timers import timer_runner
from services.cancellation.settings import CancellationSettings
from shared.events import (
    REGISTRY,
    AccountStatus,
    CancellationCompleted,
    CancellationDataErased,
    CancellationRejected,
    CancellationRequested,
    CancellationWithdrawn,
    IdentityDataErased,
    NotifierDataErased,
    SubAccountAssociated,
    VerificationDataErased,
    decode,
)
from tests.integration.cancellation.conftest import (
    OPERATOR,
    OPERATOR_TOKEN,
    CancellationApp,
    cancellation_app,
    code,
    ended,
    new_account_id,
    shown,
)

pytestmark = pytest.mark.integration

COOLING_OFF_S = 2


@pytest.fixture(scope="module")
async def quick(infra: Infra) -> AsyncIterator[CancellationApp]:
    """A cancellation service whose applications cool off for COOLING_OFF_S seconds and
    whose timer worker looks for due timers every 50 ms."""
    async with cancellation_app(
        infra.scope(),
        cooling_off_s=COOLING_OFF_S,
        timer_poll_interval_s=0.05,
        operator_token=OPERATOR_TOKEN,
    ) as app:
        yield app


def types_of(events: list[Any]) -> list[type]:
    return [type(e.payload) for e in events]


async def erasure_of(app: CancellationApp, application_id: str) -> dict[str, Any]:
    reply = await app.client.get(f"/v1/operator/cancellations/{application_id}", headers=OPERATOR)
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


async def test_can_7_cooling_off_ends_with_every_precondition_met_completes_exactly_once(
    quick: CancellationApp,
) -> None:
    """CAN-7: the cooling-off timer completes the application: `completed`, the account
    projection `cancelled`, CancellationCompleted once, in the transaction of the timer."""
    account = await quick.clear_account()
    applied = await quick.apply(account)
    assert applied.status_code == 201, applied.text
    application_id = applied.json()["application_id"]

    done = await ended(quick, account)

    assert done["state"] == "completed"
    assert done["reasons"] == [] and done["operator_reason"] is None
    ends_at = datetime.fromisoformat(done["cooling_off_ends_at"])
    assert datetime.fromisoformat(done["ended_at"]) >= ends_at
    events = await quick.events_of(account, 3)
    assert types_of(events) == [
        CancellationRequested,
        CancellationCompleted,
        CancellationDataErased,
    ]
    assert events[1].payload.application_id == application_id
    async with quick.runtime.uow() as uow:
        projected = await Accounts(uow.conn).get(account)
        fired = (
            await uow.conn.execute(
                sa.select(timers.c.kind, timers.c.state).where(timers.c.ref == application_id)
            )
        ).all()
    assert projected is not None and projected.status is AccountStatus.CANCELLED
    assert [tuple(t) for t in fired] == [("cooling_off_end", "done")]
    # Nothing fires twice: the timer is done, and the topic keeps one completion.
    claimed = await _claim_all(quick, datetime.now(UTC) + timedelta(days=1))
    assert [c for c in claimed if c.timer.ref == application_id] == []
    completions = [
        e for e in await quick.events(account) if isinstance(e.payload, CancellationCompleted)
    ]
    assert len(completions) == 1


async def _claim_all(app: CancellationApp, now: datetime) -> list[Any]:
    async with app.runtime.uow() as uow:
        claimed = await Timers(uow.conn).claim_due(now, 1000, timedelta(seconds=1))
    # Give them back at once: only their refs mattered.
    async with app.runtime.uow() as uow:
        for c in claimed:
            await Timers(uow.conn).retry(c, due_at=c.timer.due_at)
    return claimed


async def test_can_7_cancellation_erases_its_projections_and_keeps_the_application_record(
    quick: CancellationApp,
) -> None:
    """CAN-7 (cancellation's side): in the completion transaction the standings and the
    account's sub-account link are deleted, the account projection keeps only id, status
    and dates, the application record stays; CancellationDataErased confirms it."""
    account = await quick.clear_account()
    applied = (await quick.apply(account)).json()
    async with quick.runtime.uow() as uow:
        kept_before = (
            await uow.conn.execute(
                sa.select(sa.func.count()).where(standings.c.account_id == account)
            )
        ).scalar_one()
    assert kept_before == 4

    assert (await ended(quick, account))["state"] == "completed"

    async with quick.runtime.uow() as uow:
        left = (
            await uow.conn.execute(
                sa.select(sa.func.count()).where(standings.c.account_id == account)
            )
        ).scalar_one()
        links = (
            await uow.conn.execute(
                sa.select(sa.func.count()).where(sub_accounts.c.account_id == account)
            )
        ).scalar_one()
        row = (
            await uow.conn.execute(
                sa.text(
                    "SELECT registration_method, frozen_reasons, status FROM accounts "
                    "WHERE account_id = :a"
                ),
                {"a": account},
            )
        ).one()
        confirmations = (
            await uow.conn.execute(
                sa.select(erasures.c.service).where(
                    erasures.c.application_id == applied["application_id"]
                )
            )
        ).all()
    assert (left, links) == (0, 0)
    assert tuple(row) == (None, [], "cancelled")
    assert [c.service for c in confirmations] == ["cancellation"]
    found = await quick.events_of(account, 3)
    (erased,) = [e for e in found if isinstance(e.payload, CancellationDataErased)]
    assert erased.payload.service == "cancellation"
    assert erased.payload.application_id == applied["application_id"]
    assert "application record: ids, states, times, reason codes, operator reason" in (
        erased.payload.kept
    )
    record = await erasure_of(quick, applied["application_id"])
    assert record["state"] == "completed"  # the audit record stays
    assert record["erasure"]["cancellation"] is not None
    assert record["erasure_complete"] is False

    # Facts arriving for the cancelled account are not projected again.
    late = billing(datetime.now(UTC) + timedelta(minutes=5))
    await publish_fact(quick.scope, late, account)
    await _consumed(quick, "billing.events")
    async with quick.runtime.uow() as uow:
        again = (
            await uow.conn.execute(
                sa.select(sa.func.count()).where(standings.c.account_id == account)
            )
        ).scalar_one()
    assert again == 0


async def _consumed(app: CancellationApp, topic: str) -> None:
    group = f"{app.runtime.settings.consumer_group}.{topic}"

    async def no_lag() -> bool:
        return await group_lag(app.kafka, group, app.scope.topic(topic)) == 0

    await eventually(no_lag, what=f"{topic} consumed")


async def test_can_7_the_other_services_confirmations_are_recorded_and_erasure_completes(
    quick: CancellationApp,
) -> None:
    """CAN-7: identity's, verification's and the notifier's AccountDataErased arrive on
    their own topics, as their owners publish them; the record shows each, and
    `erasure_complete` only once all four confirmed (a repeat changes nothing)."""
    account = await quick.clear_account()
    application_id = (await quick.apply(account)).json()["application_id"]
    assert (await ended(quick, account))["state"] == "completed"
    now = datetime.now(UTC)

    for kind, owner in (
        (IdentityDataErased, "identity"),
        (VerificationDataErased, "verification"),
    ):
        payload = kind(service=owner, application_id=application_id, erased_at=now, kept=[])
        await publish_fact(quick.scope, payload, account, producer=owner)

    async def two_more() -> dict[str, Any] | None:
        record = await erasure_of(quick, application_id)
        erasure = record["erasure"]
        return record if erasure["identity"] and erasure["verification"] else None

    partial = await eventually(two_more, what="identity's and verification's confirmations")
    assert partial["erasure"]["notifier"] is None
    assert partial["erasure_complete"] is False

    notifier = NotifierDataErased(
        service="notifier", application_id=application_id, erased_at=now, kept=["records"]
    )
    await publish_fact(quick.scope, notifier, account, producer="notifier")
    await publish_fact(quick.scope, notifier, account, producer="notifier")  # a repeat

    async def complete() -> dict[str, Any] | None:
        record = await erasure_of(quick, application_id)
        return record if record["erasure_complete"] else None

    record = await eventually(complete, what="all four confirmations")
    assert set(record["erasure"]) == {"identity", "verification", "notifier", "cancellation"}
    assert all(record["erasure"].values())
    assert datetime.fromisoformat(record["erasure"]["identity"]) == now


async def test_can_7_a_confirmation_from_an_untrusted_producer_is_dead_lettered(
    quick: CancellationApp,
) -> None:
    """CAN-7: identity's confirmation counts from identity only: one that says it comes from
    billing is parked in identity.events.dlq (`untrusted_producer`) and not recorded."""
    account = await quick.clear_account()
    application_id = (await quick.apply(account)).json()["application_id"]
    assert (await ended(quick, account))["state"] == "completed"
    forged = IdentityDataErased(
        service="identity", application_id=application_id, erased_at=datetime.now(UTC)
    )
    await publish_fact(quick.scope, forged, account, producer="billing")

    async def parked() -> list[Any]:
        records = await read_all(quick.kafka, quick.scope.topic("identity.events.dlq"))
        return [r for r in records if r.key == account.encode()]

    (record,) = await eventually(parked, what="the forged confirmation parked")
    headers = dict(record.headers)
    assert headers["dlq.reason"] == b"untrusted_producer"
    assert decode(record.value, REGISTRY).payload.application_id == application_id
    assert (await erasure_of(quick, application_id))["erasure"]["identity"] is None


async def test_can_6_a_precondition_broken_at_the_end_of_cooling_off_rejects_it(
    quick: CancellationApp,
) -> None:
    """CAN-6: the cooling-off end re-evaluates every precondition: a sub-account link CAM
    reported meanwhile rejects with NOT_ROOT_ACCOUNT (whichever of the re-evaluation and
    the end fires first), never completes."""
    account = await quick.clear_account()
    assert (await quick.apply(account)).status_code == 201
    await publish_fact(
        quick.scope,
        SubAccountAssociated(root_account_id=new_account_id(), associated_at=datetime.now(UTC)),
        account,
    )

    done = await ended(quick, account)

    assert (done["state"], done["reasons"]) == ("rejected", ["NOT_ROOT_ACCOUNT"])
    events = await quick.events_of(account, 2)
    assert types_of(events) == [CancellationRequested, CancellationRejected]
    assert events[1].payload.reasons == ["NOT_ROOT_ACCOUNT"]


async def test_can_6_a_late_bill_during_cooling_off_rejects_at_once_and_the_applicant_reapplies(
    cancellation: CancellationApp,
) -> None:
    """CAN-6: billing reports arrears during cooling-off (15 days here): the projection's
    transaction schedules a `reevaluate` timer due now, whose firing rejects the
    application with ARREARS at once; the applicant sees the reasons, and once billing
    reports the arrears paid may apply again."""
    account = await cancellation.clear_account()
    applied = await cancellation.apply(account)
    assert applied.status_code == 201, applied.text
    application_id = applied.json()["application_id"]

    late_bill = billing(datetime.now(UTC) + timedelta(minutes=1), overdue_fen=12_300)
    await cancellation.report(account, late_bill)
    done = await ended(cancellation, account)

    assert done["application_id"] == application_id
    assert (done["state"], done["reasons"]) == ("rejected", ["ARREARS"])
    assert done["operator_reason"] is None
    _, rejected = await cancellation.events_of(account, 2)
    assert isinstance(rejected.payload, CancellationRejected)
    assert rejected.payload.reasons == ["ARREARS"]
    assert rejected.payload.application_id == application_id
    assert rejected.payload.operator_reason is None
    async with cancellation.runtime.uow() as uow:
        rows = (
            await uow.conn.execute(
                sa.select(timers.c.kind, timers.c.state)
                .where(timers.c.ref == application_id)
                .order_by(timers.c.id)
            )
        ).all()
    assert [tuple(r) for r in rows] == [("cooling_off_end", "cancelled"), ("reevaluate", "done")]

    refused = await cancellation.apply(account)
    assert code(refused) == "PRECONDITIONS_FAILED"
    await cancellation.report(account, billing(datetime.now(UTC) + timedelta(minutes=2)))
    again = await cancellation.apply(account)
    assert again.status_code == 201, again.text
    assert again.json()["application_id"] != application_id
    await cancellation.client.delete("/v1/cancellation", headers=cancellation.auth(account, False))


async def test_can_6_a_fact_that_breaks_nothing_leaves_the_application_cooling_off(
    cancellation: CancellationApp,
) -> None:
    """CAN-6: a re-evaluation with every precondition still met changes nothing."""
    account = await cancellation.clear_account()
    application_id = (await cancellation.apply(account)).json()["application_id"]

    await cancellation.report(account, billing(datetime.now(UTC) + timedelta(minutes=1)))

    async def reevaluated() -> bool:
        async with cancellation.runtime.uow() as uow:
            state = (
                await uow.conn.execute(
                    sa.select(timers.c.state).where(
                        timers.c.ref == application_id, timers.c.kind == "reevaluate"
                    )
                )
            ).scalar_one_or_none()
        return state == "done"

    await eventually(reevaluated, what="the re-evaluation fired")
    assert (await shown(cancellation, account))["state"] == "cooling_off"
    await cancellation.client.delete("/v1/cancellation", headers=cancellation.auth(account, False))


async def test_can_5_can_7_withdrawal_and_completion_race_and_exactly_one_wins(
    infra: Infra,
) -> None:
    """CAN-5 vs CAN-7: the cooling-off end fires (claimed by the test as the worker would,
    when due) while the applicant withdraws. The test holds the application's row lock so
    both really wait on it at once, in either order, then lets go: whichever queued first
    wins. Withdrawn first: the firing finds it ended and does nothing (its timer row, locked
    by the firing, is not waited for: no deadlock). Fired first: completed, and the
    withdrawal is refused COOLING_OFF_OVER. Never both; one ending event either way."""
    async with cancellation_app(infra.scope()) as app:  # 15 days: its worker stays idle
        runner = timer_runner(app.runtime, settings_of(app.runtime))

        async def withdraw(account: str) -> int:
            reply = await app.client.delete("/v1/cancellation", headers=app.auth(account, False))
            return reply.status_code

        for fire_first in (True, False, True, False):
            account = await app.clear_account()
            reply = await app.apply(account)
            assert reply.status_code == 201, reply.text
            application_id = reply.json()["application_id"]
            ends = datetime.fromisoformat(reply.json()["cooling_off_ends_at"])
            claims = await _claim(app, ends + timedelta(seconds=1))
            (claimed,) = [c for c in claims if c.timer.ref == application_id]

            async with app.runtime.engine.connect() as gate:
                await gate.execute(
                    sa.select(applications.c.state)
                    .where(applications.c.application_id == application_id)
                    .with_for_update()
                )
                if fire_first:
                    firing = asyncio.create_task(runner.fire(claimed))
                    await _waiting_on_locks(app, 1)
                    withdrawal = asyncio.create_task(withdraw(account))
                else:
                    withdrawal = asyncio.create_task(withdraw(account))
                    await _waiting_on_locks(app, 1)
                    firing = asyncio.create_task(runner.fire(claimed))
                await _waiting_on_locks(app, 2)
                await gate.rollback()
            withdrawn, fired = await withdrawal, await firing

            state = (await shown(app, account))["state"]
            kinds = types_of(await app.events_of(account, 2))
            assert fired is True  # the claim was ours either way; the effect decided
            if fire_first:
                assert (state, withdrawn) == ("completed", 409)
                assert kinds == [CancellationRequested, CancellationCompleted, *kinds[2:]]
                assert CancellationWithdrawn not in kinds
            else:
                assert (state, withdrawn) == ("withdrawn", 200)
                assert kinds == [CancellationRequested, CancellationWithdrawn]
            final = await app.events(account)
            assert len([e for e in final if type(e.payload) in END_EVENTS]) == 1


async def _waiting_on_locks(app: CancellationApp, count: int) -> None:
    """Wait until `count` sessions of the service's database wait on a lock."""

    async def waiting() -> bool:
        async with app.runtime.engine.connect() as conn:
            found: int = (
                await conn.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                )
            ).scalar_one()
        return found >= count

    await eventually(waiting, what=f"{count} sessions waiting on the application's lock")


END_EVENTS = (CancellationWithdrawn, CancellationCompleted, CancellationRejected)


async def _claim(app: CancellationApp, now: datetime) -> list[Any]:
    async with app.runtime.uow() as uow:
        return await Timers(uow.conn).claim_due(now, 1000, timedelta(seconds=60))


async def test_can_5_a_cooling_off_period_in_seconds_overrides_the_days(infra: Infra) -> None:
    """CAN-5: COOLING_OFF_S, when set, is the cooling-off period (tests shrink it)."""
    s = infra.scope().settings

    assert s(CancellationSettings).cooling_off == timedelta(days=15)
    assert s(CancellationSettings, cooling_off_s=90).cooling_off == timedelta(seconds=90)
    assert s(CancellationSettings, cooling_off_days=3).cooling_off == timedelta(days=3)
