"""The timer worker: the notifier's second background worker (ServiceSpec.workers), the
shared loop (shared/timers/worker.py) firing erasures (CAN-7).

Claims due timers in batches of up to `TIMER_CLAIM_BATCH` and fires them one by one; when a
claim finds fewer than a batch, it sleeps `TIMER_POLL_INTERVAL_S` (or until stopped). Never
an in-process sleep for the duration of an erasure's wait: every erasure is a row, so a
restart loses none and two instances run each once."""

from __future__ import annotations

from services.notifier.service_layer.timers import timer_runner
from services.notifier.settings import NotifierSettings
from shared.runtime import Runtime
from shared.timers import TimerWorker


def timer_worker(runtime: Runtime) -> TimerWorker:
    """ServiceSpec.workers entry."""
    s = runtime.settings
    assert isinstance(s, NotifierSettings)
    return TimerWorker(
        timer_runner(runtime, s),
        batch=s.timer_claim_batch,
        poll_interval_s=s.timer_poll_interval_s,
        name="notifier-timers",
    )
