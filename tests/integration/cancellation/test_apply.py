"""CAN-1, CAN-3, CAN-4, CAN-5, CAN-9 over HTTP, the real broker, PostgreSQL and Redis:
who may apply (the logged-in root account with a fresh second factor; unverified too),
CancellationRequested through the outbox with the cooling-off end (and its due timer row),
one open application per account under concurrency, withdrawal during cooling-off."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from devkit.testing.infra import Infra
from devkit.testing.waiting import eventually
from services.cancellation.adapters.repository import Accounts
from services.cancellation.adapters.tables import applications, timers
from shared.events import (
    AccountStatus,
    AccountStatusChanged,
    CancellationCompleted,
    CancellationRequested,
    CancellationWithdrawn,
)
from tests.integration.cancellation.conftest import (
    CancellationApp,
    cancellation_app,
    code,
    ended,
    new_account_id,
)

pytestmark = pytest.mark.integration


async def test_can_9_no_anonymous_cancellation_an_account_without_login_is_sent_to_recovery(
    cancellation: CancellationApp,
) -> None:
    account = await cancellation.clear_account()

    anonymous = await cancellation.client.post("/v1/cancellation")
    forged = await cancellation.client.post(
        "/v1/cancellation", headers={"authorization": "Bearer not-a-token"}
    )
    shown = await cancellation.client.get("/v1/cancellation")

    for reply in (anonymous, forged, shown):
        assert reply.status_code == 401
        assert code(reply) == "LOGIN_REQUIRED"
        assert reply.json()["error"]["details"]["recovery"]["appeal"] == (
            "POST /v1/recovery/appeals"
        )
    assert await cancellation.events(account) == []


async def test_can_1_applying_needs_a_fresh_second_factor(
    cancellation: CancellationApp,
) -> None:
    account = await cancellation.clear_account()
    max_age = cancellation.runtime.settings.step_up_max_age_s
    stale = datetime.now(UTC) - timedelta(seconds=max_age + 60)

    without = await cancellation.apply(account, step_up=False)
    old = await cancellation.client.post(
        "/v1/cancellation", headers=cancellation.tokens.headers(account, stepped_up_at=stale)
    )

    for reply in (without, old):
        assert reply.status_code == 403
        assert code(reply) == "STEP_UP_REQUIRED"
        assert reply.json()["error"]["details"]["step_up"] == "POST /v1/me/step-up"
    assert (await cancellation.apply(account)).status_code == 201


async def test_can_3_an_unverified_account_applies_and_cancellation_requested_goes_out(
    cancellation: CancellationApp,
) -> None:
    # nothing of verification is consulted: this account never verified its real name
    account = await cancellation.clear_account()

    reply = await cancellation.apply(account)

    assert reply.status_code == 201, reply.text
    body = reply.json()
    requested = datetime.fromisoformat(body["requested_at"])
    ends = datetime.fromisoformat(body["cooling_off_ends_at"])
    assert body["state"] == "cooling_off"
    assert ends - requested == timedelta(days=15)  # COOLING_OFF_DAYS' default (CAN-5)
    (event,) = await cancellation.events_of(account, 1)
    assert isinstance(event.payload, CancellationRequested)
    assert event.producer == "cancellation"
    assert event.payload.application_id == body["application_id"]
    assert event.payload.cooling_off_ends_at == ends
    async with cancellation.runtime.uow() as uow:
        due = (
            await uow.conn.execute(
                sa.select(timers.c.kind, timers.c.state, timers.c.due_at).where(
                    timers.c.ref == body["application_id"]
                )
            )
        ).all()
    assert [tuple(row) for row in due] == [("cooling_off_end", "scheduled", ends)]
    shown = await cancellation.client.get(
        "/v1/cancellation", headers=cancellation.auth(account, False)
    )
    assert shown.status_code == 200
    assert shown.json() == body


async def test_can_4_ten_concurrent_applications_open_exactly_one(
    cancellation: CancellationApp,
) -> None:
    account = await cancellation.clear_account()
    headers = cancellation.auth(account)

    replies = await asyncio.gather(
        *(cancellation.client.post("/v1/cancellation", headers=headers) for _ in range(10))
    )

    statuses = sorted(r.status_code for r in replies)
    assert statuses == [201] + [409] * 9, [r.text for r in replies]
    assert {code(r) for r in replies if r.status_code == 409} == {"APPLICATION_OPEN"}
    async with cancellation.runtime.uow() as uow:
        count = (
            await uow.conn.execute(
                sa.select(sa.func.count()).where(applications.c.account_id == account)
            )
        ).scalar_one()
    assert count == 1
    await cancellation.events_of(account, 1)
    assert len(await cancellation.events(account)) == 1


async def test_can_5_the_applicant_withdraws_during_cooling_off_and_may_apply_again(
    cancellation: CancellationApp,
) -> None:
    account = await cancellation.clear_account()
    applied = (await cancellation.apply(account)).json()

    withdrawn = await cancellation.client.delete(
        "/v1/cancellation", headers=cancellation.auth(account, False)
    )
    again = await cancellation.client.delete(
        "/v1/cancellation", headers=cancellation.auth(account, False)
    )

    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["state"] == "withdrawn"
    assert withdrawn.json()["application_id"] == applied["application_id"]
    assert again.status_code == 404
    assert code(again) == "NO_APPLICATION"
    requested, ended = await cancellation.events_of(account, 2)
    assert isinstance(requested.payload, CancellationRequested)
    assert isinstance(ended.payload, CancellationWithdrawn)
    assert ended.payload.application_id == applied["application_id"]
    async with cancellation.runtime.uow() as uow:
        state: str = (
            await uow.conn.execute(
                sa.select(timers.c.state).where(timers.c.ref == applied["application_id"])
            )
        ).scalar_one()
    assert state == "cancelled"  # the cooling-off end will never fire

    reapplied = await cancellation.apply(account)
    assert reapplied.status_code == 201
    assert reapplied.json()["application_id"] != applied["application_id"]


async def test_can_5_withdrawing_without_an_application_is_refused(
    cancellation: CancellationApp,
) -> None:
    account = await cancellation.clear_account()

    shown = await cancellation.client.get(
        "/v1/cancellation", headers=cancellation.auth(account, False)
    )
    withdrawn = await cancellation.client.delete(
        "/v1/cancellation", headers=cancellation.auth(account, False)
    )

    assert (shown.status_code, code(shown)) == (404, "NO_APPLICATION")
    assert (withdrawn.status_code, code(withdrawn)) == (404, "NO_APPLICATION")


async def test_can_1_an_unknown_or_cancelled_account_cannot_apply(
    cancellation: CancellationApp,
) -> None:
    unknown = await cancellation.apply(new_account_id())
    account = await cancellation.clear_account()
    await cancellation.identity_event(
        account,
        AccountStatusChanged(
            status=AccountStatus.CANCELLED, frozen_reasons=[], changed_at=datetime.now(UTC)
        ),
    )

    async def refused() -> str | None:
        reply = await cancellation.apply(account)
        return code(reply) if reply.status_code == 403 else None

    assert (unknown.status_code, code(unknown)) == (404, "ACCOUNT_UNKNOWN")
    assert await eventually(refused, what="cancelled status projected") == "ACCOUNT_CANCELLED"


async def test_can_5_cooling_off_days_is_a_setting_and_withdrawal_ends_with_it(
    infra: Infra,
) -> None:
    async with cancellation_app(
        infra.scope(), cooling_off_days=0, timer_poll_interval_s=0.05
    ) as cancellation:
        account = await cancellation.clear_account()
        applied = await cancellation.apply(account)
        assert applied.status_code == 201, applied.text
        body = applied.json()
        assert body["cooling_off_ends_at"] == body["requested_at"]

        late = await cancellation.client.delete(
            "/v1/cancellation", headers=cancellation.auth(account, False)
        )

        assert (late.status_code, code(late)) == (409, "COOLING_OFF_OVER")
        # The cooling-off is over at once: the timer worker completes the application.
        done = await ended(cancellation, account)
        assert done["state"] == "completed"
        requested, completed, _ = await cancellation.events_of(account, 3)
        assert isinstance(requested.payload, CancellationRequested)
        assert isinstance(completed.payload, CancellationCompleted)


async def test_acc_3_a_frozen_account_may_apply_the_preconditions_decide(
    cancellation: CancellationApp,
) -> None:
    """README choice: a freeze (here for a violation) does not bar cancellation."""
    account = await cancellation.clear_account()
    await cancellation.identity_event(
        account,
        AccountStatusChanged(
            status=AccountStatus.FROZEN, frozen_reasons=["violation"], changed_at=datetime.now(UTC)
        ),
    )

    async def frozen() -> bool:
        async with cancellation.runtime.uow() as uow:
            found = await Accounts(uow.conn).get(account)
        return found is not None and found.status is AccountStatus.FROZEN

    await eventually(frozen, what="the freeze projected")
    assert (await cancellation.apply(account)).status_code == 201
