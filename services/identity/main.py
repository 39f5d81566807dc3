"""Entry point of the identity service: `identity-service`."""

from __future__ import annotations

from pathlib import Path

from services.identity.entrypoints.http import dev_router, router
from services.identity.entrypoints.subscribers import subscribe
from services.identity.entrypoints.well_known import router as well_known_router
from services.identity.settings import IdentitySettings
from shared.events import Topic
from shared.service import ServiceSpec, run_service

DESCRIPTION = "Accounts, login methods, passwords, sessions, secure channels, MFA, projects."


def spec(settings: IdentitySettings | None = None) -> ServiceSpec:
    s = settings or IdentitySettings()
    return ServiceSpec(
        settings=s,
        migrations=Path(__file__).parent / "migrations",
        description=DESCRIPTION,
        routers=[router, well_known_router, dev_router]
        if s.dev_mode
        else [router, well_known_router],
        publishes=[Topic.IDENTITY_EVENTS, Topic.IDENTITY_CONTACTS, Topic.NOTIFIER_REQUESTS],
        subscribe=subscribe,
    )


def run() -> None:
    run_service(spec)
