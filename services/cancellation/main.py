"""Entry point of the cancellation service: `cancellation-service`."""

from __future__ import annotations

from pathlib import Path

from services.cancellation.adapters.tables import timers
from services.cancellation.entrypoints.http import router
from services.cancellation.entrypoints.subscribers import subscribe
from services.cancellation.entrypoints.timer_worker import timer_worker
from services.cancellation.settings import CancellationSettings
from shared.clock import Clock, SystemClock
from shared.events import Topic
from shared.service import ServiceSpec, run_service
from shared.timers import finished_timers

DESCRIPTION = "Account cancellation: preconditions, cooling-off, completion."


def spec(
    settings: CancellationSettings | None = None, *, clock: Clock | None = None
) -> ServiceSpec:
    s = settings or CancellationSettings()
    return ServiceSpec(
        settings=s,
        migrations=Path(__file__).parent / "migrations",
        description=DESCRIPTION,
        publishes=[Topic.CANCELLATION_EVENTS],
        routers=[router],
        subscribe=subscribe,
        workers=[timer_worker],
        expiring=[finished_timers(timers, s.timer_retention_s)],
        clock=clock or SystemClock(),
    )


def run() -> None:
    run_service(spec)
