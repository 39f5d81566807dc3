"""Entry point of the verification service: `verification-service`."""

from __future__ import annotations

from pathlib import Path

from services.verification.adapters.tables import timers
from services.verification.entrypoints.http import dev_router, router
from services.verification.entrypoints.subscribers import subscribe
from services.verification.entrypoints.timer_worker import timer_worker
from services.verification.service_layer.context import build
from services.verification.settings import VerificationSettings
from shared.clock import Clock, SystemClock
from shared.events import Topic
from shared.service import ServiceSpec, run_service
from shared.timers import finished_timers

DESCRIPTION = "Real-name authentication of people and enterprises."


def spec(
    settings: VerificationSettings | None = None, *, clock: Clock | None = None
) -> ServiceSpec:
    s = settings or VerificationSettings()
    return ServiceSpec(
        settings=s,
        migrations=Path(__file__).parent / "migrations",
        description=DESCRIPTION,
        routers=[router, dev_router] if s.dev_mode else [router],
        publishes=[Topic.VERIFICATION_EVENTS],
        bootstrap=build,
        subscribe=subscribe,
        workers=[timer_worker],
        expiring=[finished_timers(timers, s.timer_retention_s)],
        clock=clock or SystemClock(),
    )


def run() -> None:
    run_service(spec)
