"""The timer worker: a service's background loop (a ServiceSpec.workers entry).

Claims due timers in batches of up to `batch` and fires them one by one; when a claim finds
fewer than a batch, it waits `poll_interval_s` (or until stopped). Never an in-process sleep
for the duration of a timer: every timer is a row, so a restart loses none and two
instances fire each once (runner.py)."""

from __future__ import annotations

import asyncio
import contextlib

from shared.logging import get_logger
from shared.timers.runner import TimerRunner

log = get_logger(__name__)


class TimerWorker:
    def __init__(
        self, runner: TimerRunner, *, batch: int, poll_interval_s: float, name: str = "timers"
    ) -> None:
        self._runner = runner
        self._batch = batch
        self._poll_interval_s = poll_interval_s
        self._name = name
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self._loop(), name=self._name)

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
