"""Entry point of the identity service: `identity-service`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from services.identity.adapters.tables import auth_flows
from services.identity.bootstrap import bootstrap
from services.identity.entrypoints.http import dev_router, router
from services.identity.entrypoints.subscribers import subscribe
from services.identity.entrypoints.well_known import router as well_known_router
from services.identity.settings import IdentitySettings
from shared.events import Topic
from shared.retention import Expiring
from shared.runtime import Runtime
from shared.service import ServiceSpec, run_service

DESCRIPTION = "Accounts, login methods, passwords, sessions, secure channels, MFA, projects."


def spec(settings: IdentitySettings | None = None, **ports: Any) -> ServiceSpec:
    """The service; `ports` replace real adapters (tests), see bootstrap()."""
    s = settings or IdentitySettings()

    def wire(runtime: Runtime) -> object:
        # The settings the app runs with (spec.settings, possibly replaced after this call).
        settings = runtime.settings
        assert isinstance(settings, IdentitySettings)
        return bootstrap(settings, runtime=runtime, **ports)

    return ServiceSpec(
        settings=s,
        migrations=Path(__file__).parent / "migrations",
        description=DESCRIPTION,
        routers=[router, well_known_router, dev_router]
        if s.dev_mode
        else [router, well_known_router],
        publishes=[Topic.IDENTITY_EVENTS, Topic.IDENTITY_CONTACTS, Topic.NOTIFIER_REQUESTS],
        bootstrap=wire,
        subscribe=subscribe,
        # Finished and abandoned login/step-up flows (the login record is login_attempts).
        expiring=[Expiring(auth_flows, "expires_at", "flow_id", s.flow_retention_s)],
    )


def run() -> None:
    run_service(spec)
