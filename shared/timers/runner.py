"""Firing timers: claim due rows with a lease, run each one's effect once, end it.

1. `claim` (one short transaction): due timers locked `FOR UPDATE SKIP LOCKED`, committed
   `claimed` with a lease and a claim token.
2. `fire` (one transaction per timer): end the timer where the claim token is still ours,
   and run its effect in the same transaction, so the effect happens once even when two
   processes race or one dies: a process killed after 1 leaves the row claimed until its
   lease runs out, then another claims it again. A claim no longer ours skips the effect.
3. An effect that raises is rolled back and the timer is due again later (backoff).
4. An effect that returns a time found its thing not ready yet (the notifier's erasure
   waiting for deliveries): the same timer is due again then, in the same transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import TypeVar

import sqlalchemy as sa

from shared.logging import get_logger
from shared.runtime import Runtime
from shared.timers.model import Claimed, Timer, retry_at
from shared.timers.repository import TimerRepository
from shared.unit_of_work import UnitOfWork

log = get_logger(__name__)

# What a timer of one kind does when it fires, inside the transaction that ends it: None
# when it is done; a time when its thing is not ready yet (the timer is due again then).
TimerEffect = Callable[[UnitOfWork, Timer], Awaitable[datetime | None]]
Kind = TypeVar("Kind", bound=str)  # a service's StrEnum of kinds


class TimerRunner:
    """Claims and fires the timers of the kinds it has effects for."""

    def __init__(
        self,
        runtime: Runtime,
        table: sa.Table,
        effects: Mapping[Kind, TimerEffect],
        *,
        lease: timedelta,
        retry_backoff: timedelta,
    ) -> None:
        self._runtime = runtime
        self._table = table
        self._effects = {str(kind): effect for kind, effect in effects.items()}
        self._lease = lease
        self._retry_backoff = retry_backoff

    def _repository(self, uow: UnitOfWork) -> TimerRepository:
        return TimerRepository(uow.conn, self._table)

    async def claim(self, limit: int) -> list[Claimed]:
        async with self._runtime.uow() as uow:
            return await self._repository(uow).claim_due(
                self._runtime.clock.now(), limit, self._lease
            )

    async def fire(self, claimed: Claimed) -> bool:
        """Run the timer's effect and end it (or postpone it, when the effect says so); False
        when it was no longer ours or the effect failed."""
        timer = claimed.timer
        try:
            async with self._runtime.uow() as uow:
                timers = self._repository(uow)
                if not await timers.finish(claimed, now=self._runtime.clock.now()):
                    log.info("timer_no_longer_ours", timer=timer.id, kind=str(timer.kind))
                    return False
                again = await self._effects[str(timer.kind)](uow, timer)
                if again is not None:
                    await timers.postpone(claimed, due_at=again)
                    log.info("timer_postponed", timer=timer.id, kind=str(timer.kind))
                    return True
        except Exception as error:
            log.warning(
                "timer_effect_failed",
                timer=timer.id,
                kind=str(timer.kind),
                attempts=timer.attempts,
                error=type(error).__name__,
            )
            await self._retry_later(claimed)
            return False
        log.info("timer_fired", timer=timer.id, kind=str(timer.kind), account_id=timer.account_id)
        return True

    async def _retry_later(self, claimed: Claimed) -> None:
        try:
            async with self._runtime.uow() as uow:
                await self._repository(uow).retry(
                    claimed,
                    due_at=retry_at(
                        self._runtime.clock.now(), claimed.timer.attempts, self._retry_backoff
                    ),
                )
        except Exception as error:  # the lease brings it back anyway
            log.warning(
                "timer_retry_not_stored", timer=claimed.timer.id, error=type(error).__name__
            )
