"""Entry point of the verification service: `verification-service`."""

from __future__ import annotations

from pathlib import Path

from services.verification.entrypoints.subscribers import subscribe
from services.verification.settings import VerificationSettings
from shared.events import Topic
from shared.service import ServiceSpec, run_service

DESCRIPTION = "Real-name authentication of people and enterprises."


def spec(settings: VerificationSettings | None = None) -> ServiceSpec:
    return ServiceSpec(
        settings=settings or VerificationSettings(),
        migrations=Path(__file__).parent / "migrations",
        description=DESCRIPTION,
        publishes=[Topic.VERIFICATION_EVENTS],
        subscribe=subscribe,
    )


def run() -> None:
    run_service(spec)
