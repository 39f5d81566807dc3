"""Entry point of the cancellation service: `cancellation-service`."""

from __future__ import annotations

from pathlib import Path

from services.cancellation.entrypoints.subscribers import subscribe
from services.cancellation.settings import CancellationSettings
from shared.events import Topic
from shared.service import ServiceSpec, run_service

DESCRIPTION = "Account cancellation: preconditions, cooling-off, completion."


def spec(settings: CancellationSettings | None = None) -> ServiceSpec:
    return ServiceSpec(
        settings=settings or CancellationSettings(),
        migrations=Path(__file__).parent / "migrations",
        description=DESCRIPTION,
        publishes=[Topic.CANCELLATION_EVENTS],
        subscribe=subscribe,
    )


def run() -> None:
    run_service(spec)
