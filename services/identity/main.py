"""Entry point of the identity service: `identity-service`."""

from __future__ import annotations

from pathlib import Path

from services.identity.entrypoints.http import router
from services.identity.settings import IdentitySettings
from shared.events import (
    AccountContacts,
    AccountRegistered,
    LoginMethodBound,
    LoginMethodUnbound,
    Topic,
)
from shared.service import ServiceSpec, run_service

DESCRIPTION = "Accounts, login methods, passwords, sessions, secure channels, MFA, projects."


def spec(settings: IdentitySettings | None = None) -> ServiceSpec:
    return ServiceSpec(
        settings=settings or IdentitySettings(),
        migrations=Path(__file__).parent / "migrations",
        description=DESCRIPTION,
        routers=[router],
        publishes={
            Topic.IDENTITY_EVENTS: [AccountRegistered, LoginMethodBound, LoginMethodUnbound],
            Topic.IDENTITY_CONTACTS: [AccountContacts],
        },
    )


def run() -> None:
    run_service(spec)
