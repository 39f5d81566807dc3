"""The courier's worker pool: the notifier's background worker (NOT-3).

Started and stopped with the service:

- the claimer claims due deliveries in batches of up to `DELIVERY_CLAIM_BATCH` and keeps up
  to `DELIVERY_CONCURRENCY + DELIVERY_CLAIM_BATCH` of them claimed ahead of the senders, so
  one claim transaction serves many sends;
- `DELIVERY_CONCURRENCY` senders each take the next claimed delivery, call the provider
  (pooled HTTP and SMTP connections) and queue the outcome;
- the recorder commits the queued outcomes together, one transaction for all that arrived
  while the previous one committed (group commit), as soon as the first one is there.

So a slow or failing provider call holds one sender, never the other accounts' messages.
The claimer sleeps until a commit of new deliveries NOTIFYs it (PostgreSQL LISTEN), or for
`DELIVERY_POLL_INTERVAL_S` at most (retries and expired leases come due without a NOTIFY).
Deliveries claimed ahead when the process dies wait for their lease to run out.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg

from services.notifier.service_layer.courier import Courier, Job, Outcome
from services.notifier.service_layer.notifications import WAKE_CHANNEL
from services.notifier.settings import NotifierSettings
from shared.logging import get_logger

log = get_logger(__name__)


class CourierPool:
    """Drives a `Courier`; start() and stop() follow the service's lifespan."""

    def __init__(self, courier: Courier, settings: NotifierSettings) -> None:
        self._courier = courier
        self._s = settings
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._claimed: asyncio.Queue[Job] = asyncio.Queue()
        self._busy = 0  # senders talking to a provider
        self._outcomes: asyncio.Queue[Outcome] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._senders: list[asyncio.Task[None]] = []
        self._stopping = False

    def start(self) -> None:
        self._stopping = False
        self._tasks = [
            asyncio.create_task(self._listen(), name="courier-listener"),
            asyncio.create_task(self._claim_loop(), name="courier-claimer"),
            asyncio.create_task(self._record_loop(), name="courier-recorder"),
        ]
        self._senders = [
            asyncio.create_task(self._send_loop(), name=f"courier-sender-{n}")
            for n in range(self._s.delivery_concurrency)
        ]

    async def stop(self) -> None:
        """Stop claiming, send what is claimed and record the outcomes (bounded by the
        lease), then stop."""
        self._stopping = True
        self._wake.set()
        self._room.set()
        listener, claimer, recorder = self._tasks
        with contextlib.suppress(asyncio.CancelledError):
            await claimer
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._s.delivery_lease_s / 2):
                await self._claimed.join()
                await self._outcomes.join()
        for task in [*self._senders, listener, recorder]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks, self._senders = [], []
        await self._courier.aclose()

    def wake(self) -> None:
        """Look for due deliveries now."""
        self._wake.set()

    # --- claiming and sending ----------------------------------------------------------

    async def _claim_loop(self) -> None:
        s = self._s
        ahead = s.delivery_concurrency + s.delivery_claim_batch
        # Claim again once half the claimed-ahead window has been sent, not after every
        # DELIVERY_CONCURRENCY sends: fewer, larger claim transactions when the queue is
        # long, and still half a window queued for the senders meanwhile.
        threshold = max(1, min(s.delivery_claim_batch, ahead // 2))
        while not self._stopping:
            room = ahead - self._claimed.qsize() - self._busy
            if room < threshold:
                self._room.clear()
                await self._room.wait()
                continue
            # Cleared before looking: a NOTIFY that arrives during the claim is not lost.
            self._wake.clear()
            asked = min(room, s.delivery_claim_batch)
            try:
                jobs, handled = await self._courier.claim(asked)
            except Exception:
                log.exception("courier_claim_failed")
                jobs, handled = [], 0
            for job in jobs:
                self._claimed.put_nowait(job)
            if handled < asked and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(s.delivery_poll_interval_s):
                        await self._wake.wait()

    async def _send_loop(self) -> None:
        while True:
            job = await self._claimed.get()
            self._busy += 1
            try:
                self._outcomes.put_nowait(await self._courier.send(job))
            finally:
                self._busy -= 1
                self._claimed.task_done()
                self._room.set()

    # --- recording ---------------------------------------------------------------------

    async def _record_loop(self) -> None:
        while True:
            batch = [await self._outcomes.get()]
            while not self._outcomes.empty():
                batch.append(self._outcomes.get_nowait())
            try:
                await self._record(batch)
            finally:
                for _ in batch:
                    self._outcomes.task_done()

    async def _record(self, batch: list[Outcome]) -> None:
        """Commit the batch; when that fails, each outcome on its own, so that one that
        cannot be recorded does not hold back the others."""
        try:
            await self._courier.record(batch)
            return
        except Exception:
            if len(batch) == 1:
                log.exception("courier_record_failed", deliveries=1)
            else:
                log.warning("courier_batch_record_failed", deliveries=len(batch), exc_info=True)
        for outcome in batch:
            await self._record_one(outcome)

    async def _record_one(self, outcome: Outcome) -> None:
        """Retry a failed commit until half the lease is gone; after that the lease runs
        out and the delivery is sent again (same idempotency key)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._s.delivery_lease_s / 2
        delay = 0.05
        while True:
            try:
                await self._courier.record([outcome])
                return
            except Exception:
                if loop.time() + delay > deadline:
                    log.exception("courier_record_abandoned", delivery=str(outcome.job.delivery.id))
                    return
                log.exception("courier_record_failed", delivery=str(outcome.job.delivery.id))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    # --- wake-ups ----------------------------------------------------------------------

    async def _listen(self) -> None:
        """LISTEN for new deliveries; until it works (or if it breaks), the claimer polls."""
        s = self._s
        dsn = f"{s.postgres_dsn.rstrip('/')}/{s.database_name}"
        while True:
            conn: Any = None
            try:
                conn = await asyncpg.connect(dsn)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _, lost=lost: lost.set())
                await conn.add_listener(WAKE_CHANNEL, lambda *_: self.wake())
                self.wake()  # deliveries queued while nobody listened
                await lost.wait()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("courier_listener_down", error=repr(exc))
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.shield(conn.close(timeout=2))
            await asyncio.sleep(max(s.delivery_poll_interval_s, 1.0))
