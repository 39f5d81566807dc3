"""Timers on real PostgreSQL (RN-5's 7-day windows, ARCHITECTURE "Timers"): due rows claimed
FOR UPDATE SKIP LOCKED with a lease and a claim token. Two claimers never share a timer; a
claim whose worker died comes back after its lease, and the dead worker's token ends nothing;
a cancelled timer never comes due; an effect that fails is due again later."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.verification.adapters.timers import Timers
from services.verification.domain.timers import Claimed, Timer, TimerKind
from services.verification.service_layer.context import VerificationContext
from services.verification.service_layer.timers import TimerRunner
from shared.unit_of_work import UnitOfWork
from tests.integration.verification.conftest import VerificationApp

pytestmark = pytest.mark.integration

LEASE = timedelta(seconds=60)
# The service's own worker polls with the real clock: these timers are due a year from now
# for it, and every test looks only at its own refs.


async def schedule(ctx: VerificationContext, refs: list[str], due_at: datetime) -> None:
    async with ctx.runtime.uow() as uow:
        for ref in refs:
            await Timers(uow.conn).schedule(
                TimerKind.RECHARGE_WINDOW, "100000000001", ref, due_at=due_at, now=due_at
            )


async def claim(ctx: VerificationContext, now: datetime, refs: list[str]) -> list[Claimed]:
    async with ctx.runtime.uow() as uow:
        claimed = await Timers(uow.conn).claim_due(now, 1000, LEASE)
    return [c for c in claimed if c.timer.ref in refs]


async def test_rn_5_two_claimers_never_take_the_same_timer_and_a_dead_ones_claim_returns(
    verification: VerificationApp,
) -> None:
    ctx = verification.ctx
    refs = [f"t-{uuid.uuid4()}" for _ in range(40)]
    # Due in the future for the service's own worker (real clock), already due for us.
    due = datetime.now(UTC) + timedelta(days=365)
    await schedule(ctx, refs, due)
    now = due + timedelta(seconds=1)

    first, second = await asyncio.gather(claim(ctx, now, refs), claim(ctx, now, refs))

    assert len(first) + len(second) == 40
    assert not {c.timer.id for c in first} & {c.timer.id for c in second}
    claimed = first + second
    # Before the lease runs out nobody takes them again.
    assert await claim(ctx, now + LEASE - timedelta(seconds=1), refs) == []
    # The worker "died": after the lease they come back, with new tokens.
    again = await claim(ctx, now + LEASE, refs)
    assert {c.timer.id for c in again} == {c.timer.id for c in claimed}
    assert all(c.timer.attempts == 2 for c in again)
    async with ctx.runtime.uow() as uow:
        stale = [await Timers(uow.conn).finish(c, now=now + LEASE) for c in claimed]
        fresh = [await Timers(uow.conn).finish(c, now=now + LEASE) for c in again]
    assert stale == [False] * 40 and fresh == [True] * 40
    assert await claim(ctx, now + 10 * LEASE, refs) == [], "done: never due again"


async def test_rn_5_a_cancelled_timer_never_comes_due(verification: VerificationApp) -> None:
    ctx = verification.ctx
    ref = f"t-{uuid.uuid4()}"
    due = datetime.now(UTC) + timedelta(days=365)
    await schedule(ctx, [ref], due)
    async with ctx.runtime.uow() as uow:
        await Timers(uow.conn).cancel(TimerKind.RECHARGE_WINDOW, ref, now=due)

    assert await claim(ctx, due + timedelta(days=1), [ref]) == []


async def test_rn_5_an_effect_that_fails_is_rolled_back_and_due_again(
    verification: VerificationApp,
) -> None:
    ctx = verification.ctx
    ref = f"t-{uuid.uuid4()}"
    due = datetime.now(UTC) + timedelta(days=365)
    await schedule(ctx, [ref], due)
    calls: list[str] = []

    async def failing(_: VerificationContext, uow: UnitOfWork, timer: Timer) -> None:
        calls.append(timer.ref)
        raise RuntimeError("the effect failed")

    runner = TimerRunner(ctx, {TimerKind.RECHARGE_WINDOW: failing})
    (claimed,) = await claim(ctx, due, [ref])

    fired = await runner.fire(claimed)

    assert fired is False and calls == [ref]
    async with ctx.runtime.uow() as uow:
        live = await Timers(uow.conn).live(TimerKind.RECHARGE_WINDOW, ref)
    assert live is not None and datetime.now(UTC) < live.due_at < due, "scheduled again, soon"
    async with ctx.runtime.uow() as uow:  # not for the service's worker to fire
        await Timers(uow.conn).cancel(TimerKind.RECHARGE_WINDOW, ref, now=due)
