"""Cancellation's timers on the shared mechanism (shared/timers): what each kind does when
it comes due, and the runner over cancellation's table and settings."""

from __future__ import annotations

from datetime import timedelta

from services.cancellation.adapters.tables import timers
from services.cancellation.domain.applications import TimerKind
from services.cancellation.service_layer import outcomes
from services.cancellation.settings import CancellationSettings
from shared.runtime import Runtime
from shared.timers import TimerEffect, TimerRunner

EFFECTS: dict[TimerKind, TimerEffect] = {
    TimerKind.COOLING_OFF_END: outcomes.cooling_off_ended,
    TimerKind.REEVALUATE: outcomes.reevaluate,
}


def timer_runner(runtime: Runtime, settings: CancellationSettings) -> TimerRunner:
    return TimerRunner(
        runtime,
        timers,
        EFFECTS,
        lease=timedelta(seconds=settings.timer_lease_s),
        retry_backoff=timedelta(seconds=settings.timer_retry_backoff_s),
    )
