"""Firing verification's timers with the shared runner (shared/timers/runner.py): claim due
rows with a lease (`TIMER_LEASE_S`), run each one's effect and end it in one transaction,
retry a failed effect later (`TIMER_RETRY_BACKOFF_S`, doubling).

The effects are the use cases' (`EFFECTS` in entrypoints/timer_worker.py maps each
TimerKind to one) and take the verification context."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta

from services.verification.adapters.tables import timers
from services.verification.domain.timers import Timer, TimerKind
from services.verification.service_layer.context import VerificationContext
from shared import timers as shared_timers
from shared.unit_of_work import UnitOfWork

TimerEffect = Callable[[VerificationContext, UnitOfWork, Timer], Awaitable[None]]


def _bound(ctx: VerificationContext, effect: TimerEffect) -> shared_timers.TimerEffect:
    async def run(uow: UnitOfWork, timer: Timer) -> None:
        await effect(ctx, uow, timer)

    return run


class TimerRunner(shared_timers.TimerRunner):
    """Claims and fires the timers of the kinds it has effects for."""

    def __init__(self, ctx: VerificationContext, effects: Mapping[TimerKind, TimerEffect]) -> None:
        s = ctx.settings
        super().__init__(
            ctx.runtime,
            timers,
            {kind: _bound(ctx, effect) for kind, effect in effects.items()},
            lease=timedelta(seconds=s.timer_lease_s),
            retry_backoff=timedelta(seconds=s.timer_retry_backoff_s),
        )
