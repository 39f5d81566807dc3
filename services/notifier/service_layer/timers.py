"""The notifier's timers on the shared mechanism (shared/timers): what each kind does when
it comes due, and the runner over the notifier's table and settings (`TIMER_LEASE_S`,
`TIMER_RETRY_BACKOFF_S`)."""

from __future__ import annotations

from datetime import timedelta

from services.notifier.adapters.tables import timers
from services.notifier.domain.erasure import TimerKind
from services.notifier.service_layer.erasure import erase_when_quiet
from services.notifier.settings import NotifierSettings
from shared.runtime import Runtime
from shared.timers import TimerEffect, TimerRunner


def effects(settings: NotifierSettings) -> dict[TimerKind, TimerEffect]:
    return {TimerKind.ERASURE: erase_when_quiet(timedelta(seconds=settings.erasure_recheck_s))}


def timer_runner(runtime: Runtime, settings: NotifierSettings) -> TimerRunner:
    return TimerRunner(
        runtime,
        timers,
        effects(settings),
        lease=timedelta(seconds=settings.timer_lease_s),
        retry_backoff=timedelta(seconds=settings.timer_retry_backoff_s),
    )
