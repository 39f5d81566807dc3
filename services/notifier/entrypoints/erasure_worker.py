"""The erasure worker: the notifier's second background worker (ServiceSpec.workers).

Claims due erasures in batches of up to `ERASURE_CLAIM_BATCH` and runs them one by one; when
a claim finds fewer than a batch, it sleeps `ERASURE_POLL_INTERVAL_S` (or until stopped).
Never an in-process sleep for the duration of an erasure's wait: every erasure is a row, so a
restart loses none and two instances run each once (service_layer/erasure.py)."""

from __future__ import annotations

import asyncio
import contextlib

from services.notifier.service_layer.erasure import ErasureRunner
from services.notifier.settings import NotifierSettings
from shared.logging import get_logger

log = get_logger(__name__)


class ErasureWorker:
    """Drives an `ErasureRunner`; start() and stop() follow the service's lifespan."""

    def __init__(self, runner: ErasureRunner, settings: NotifierSettings) -> None:
        self._runner = runner
        self._batch = settings.erasure_claim_batch
        self._poll_interval_s = settings.erasure_poll_interval_s
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self._loop(), name="notifier-erasures")

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
                log.exception("erasure_claim_failed")
                claimed = []
            for item in claimed:
                await self._runner.run(item)
            if len(claimed) < self._batch:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._poll_interval_s):
                        await self._stop.wait()
