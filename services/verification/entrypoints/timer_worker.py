"""The timer worker: verification's background worker (ServiceSpec.workers), the shared
loop (shared/timers/worker.py) over verification's kinds and effects.

Claims due timers in batches of up to `TIMER_CLAIM_BATCH` and fires them one by one; when a
claim finds fewer than a batch, it sleeps `TIMER_POLL_INTERVAL_S` (or until stopped)."""

from __future__ import annotations

from services.verification.domain.timers import TimerKind
from services.verification.service_layer import change_requests, enterprise, rechecks
from services.verification.service_layer.context import verification_context
from services.verification.service_layer.timers import TimerEffect, TimerRunner
from shared.runtime import Runtime
from shared.timers import TimerWorker

# What each timer does when it comes due.
EFFECTS: dict[TimerKind, TimerEffect] = {
    TimerKind.RECHARGE_WINDOW: enterprise.window_closed,
    TimerKind.REMITTANCE_WINDOW: enterprise.window_closed,
    TimerKind.CHANGE_REVIEW: change_requests.review_overdue,
    TimerKind.RECHECK_SWEEP: rechecks.sweep,
    TimerKind.RECHECK_GRACE: rechecks.grace_over,
}


def timer_worker(runtime: Runtime) -> TimerWorker:
    """ServiceSpec.workers entry: the worker over the process's context."""
    ctx = verification_context(runtime)
    s = ctx.settings
    return TimerWorker(
        TimerRunner(ctx, EFFECTS),
        batch=s.timer_claim_batch,
        poll_interval_s=s.timer_poll_interval_s,
        name="verification-timers",
    )
