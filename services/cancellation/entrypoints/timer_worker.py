"""The timer worker: cancellation's background worker (ServiceSpec.workers), the shared loop
(shared/timers/worker.py) firing cooling-off ends and re-evaluations."""

from __future__ import annotations

from services.cancellation.service_layer.applications import settings_of
from services.cancellation.service_layer.timers import timer_runner
from shared.runtime import Runtime
from shared.timers import TimerWorker


def timer_worker(runtime: Runtime) -> TimerWorker:
    """ServiceSpec.workers entry."""
    s = settings_of(runtime)
    return TimerWorker(
        timer_runner(runtime, s),
        batch=s.timer_claim_batch,
        poll_interval_s=s.timer_poll_interval_s,
        name="cancellation-timers",
    )
