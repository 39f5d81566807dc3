"""The timer worker: verification's background worker (ServiceSpec.workers).

Claims due timers in batches of up to `TIMER_CLAIM_BATCH` and fires them one by one; when a
claim finds fewer than a batch, it sleeps `TIMER_POLL_INTERVAL_S` (or until stopped). Never
an in-process sleep for the duration of a timer: every timer is a row, so a restart loses
none and two instances fire each once (service_layer/timers.py)."""

from __future__ import annotations

import asyncio
import contextlib

from services.verification.domain.timers import TimerKind
from services.verification.service_layer import change_requests, enterprise, rechecks
from services.verification.service_layer.context import verification_context
from services.verification.service_layer.timers import TimerEffect, TimerRunner
from shared.logging import get_logger
from shared.runtime import Runtime

log = get_logger(__name__)

# What each timer does when it comes due.
EFFECTS: dict[TimerKind, TimerEffect] = {
    TimerKind.RECHARGE_WINDOW: enterprise.window_closed,
    TimerKind.REMITTANCE_WINDOW: enterprise.window_closed,
    TimerKind.CHANGE_REVIEW: change_requests.review_overdue,
    TimerKind.RECHECK_SWEEP: rechecks.sweep,
    TimerKind.RECHECK_GRACE: rechecks.grace_over,
}


class TimerWorker:
    def __init__(self, runner: TimerRunner, *, batch: int, poll_interval_s: float) -> None:
        self._runner = runner
        self._batch = batch
        self._poll_interval_s = poll_interval_s
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self._loop(), name="verification-timers")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                claimed = await self._runner.claim(self._batch)
            except Exception:
                log.exception("timer_claim_failed")
                claimed = []
            for item in claimed:
                await self._runner.fire(item)
            if len(claimed) < self._batch:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._poll_interval_s):
                        await self._stop.wait()


def timer_worker(runtime: Runtime) -> TimerWorker:
    """ServiceSpec.workers entry: the worker over the process's context."""
    ctx = verification_context(runtime)
    s = ctx.settings
    return TimerWorker(
        TimerRunner(ctx, EFFECTS),
        batch=s.timer_claim_batch,
        poll_interval_s=s.timer_poll_interval_s,
    )
