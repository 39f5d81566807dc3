"""Firing timers: claim due rows with a lease, run each one's effect once, end it.

1. `claim` (one short transaction): due timers locked `FOR UPDATE SKIP LOCKED`, committed
   `claimed` with a lease (`TIMER_LEASE_S`) and a claim token.
2. `fire` (one transaction per timer): end the timer where the claim token is still ours,
   and run its effect in the same transaction, so the effect happens once even when two
   processes race or one dies: a process killed after 1 leaves the row claimed until its
   lease runs out, then another claims it again.
3. An effect that raises is rolled back and the timer is due again later (backoff).

The effects are the use cases' (`HANDLERS` in entrypoints/timer_worker.py maps each
TimerKind to one); the worker that drives this is entrypoints/timer_worker.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta

from services.verification.adapters.timers import Timers
from services.verification.domain.timers import Claimed, Timer, TimerKind, retry_at
from services.verification.service_layer.context import VerificationContext
from shared.logging import get_logger
from shared.unit_of_work import UnitOfWork

log = get_logger(__name__)

TimerEffect = Callable[[VerificationContext, UnitOfWork, Timer], Awaitable[None]]


class TimerRunner:
    """Claims and fires the timers of the kinds it has effects for."""

    def __init__(self, ctx: VerificationContext, effects: Mapping[TimerKind, TimerEffect]) -> None:
        self._ctx = ctx
        self._effects = dict(effects)

    async def claim(self, limit: int) -> list[Claimed]:
        s = self._ctx.settings
        async with self._ctx.runtime.uow() as uow:
            return await Timers(uow.conn).claim_due(
                self._ctx.now(), limit, timedelta(seconds=s.timer_lease_s)
            )

    async def fire(self, claimed: Claimed) -> bool:
        """Run the timer's effect and end it; False when it was no longer ours or failed."""
        timer = claimed.timer
        try:
            async with self._ctx.runtime.uow() as uow:
                if not await Timers(uow.conn).finish(claimed, now=self._ctx.now()):
                    log.info("timer_no_longer_ours", timer=timer.id, kind=timer.kind.value)
                    return False
                await self._effects[timer.kind](self._ctx, uow, timer)
        except Exception as error:
            log.warning(
                "timer_effect_failed",
                timer=timer.id,
                kind=timer.kind.value,
                attempts=timer.attempts,
                error=type(error).__name__,
            )
            await self._retry_later(claimed)
            return False
        log.info("timer_fired", timer=timer.id, kind=timer.kind.value, account_id=timer.account_id)
        return True

    async def _retry_later(self, claimed: Claimed) -> None:
        base = timedelta(seconds=self._ctx.settings.timer_retry_backoff_s)
        try:
            async with self._ctx.runtime.uow() as uow:
                await Timers(uow.conn).retry(
                    claimed, due_at=retry_at(self._ctx.now(), claimed.timer.attempts, base)
                )
        except Exception as error:  # the lease brings it back anyway
            log.warning(
                "timer_retry_not_stored", timer=claimed.timer.id, error=type(error).__name__
            )
