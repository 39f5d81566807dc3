"""Entry point of the cancellation service: `cancellation-service`."""

from __future__ import annotations

from pathlib import Path

from services.cancellation.entrypoints.http import router
from services.cancellation.entrypoints.subscribers import subscribe
from services.cancellation.entrypoints.timer_worker import timer_worker
from services.cancellation.settings import CancellationSettings
from shared.clock import Clock, SystemClock
from shared.events import Topic
from shared.service import ServiceSpec, run_service

DESCRIPTION = "Account cancellation: preconditions, cooling-off, completion."


def spec(
    settings: CancellationSettings | None = None, *, clock: Clock | None = None
) -> ServiceSpec:
    return ServiceSpec(
        settings=settings or CancellationSettings(),
        migrations=Path(__file__).parent / "migrations",
        description=DESCRIPTION,
        publishes=[Topic.CANCELLATION_EVENTS],
        routers=[router],
        subscribe=subscribe,
        workers=[timer_worker],
        clock=clock or SystemClock(),
    )


def run() -> None:
    run_service(spec)
