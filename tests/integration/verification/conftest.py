"""A verification service in-process per run (its real lifespan, broker, PostgreSQL and
Redis), accounts made by publishing identity's events, and tokens as identity signs them."""

from __future__ import annotations

import contextlib
import itertools
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from devkit.testing.infra import Infra, Scope
from devkit.testing.kafka import group_lag, publish, read_all
from devkit.testing.services import running
from devkit.testing.tokens import DevTokens
from devkit.testing.waiting import eventually
from services.verification.main import spec
from services.verification.service_layer.context import (
    VerificationContext,
    verification_context,
)
from services.verification.settings import VerificationSettings
from shared.clock import Clock
from shared.events import (
    REGISTRY,
    AccountRegistered,
    AccountStatus,
    AccountStatusChanged,
    Envelope,
    EventPayload,
    LoginMethodKind,
    decode,
    new_envelope,
)

_accounts = itertools.count(random.randrange(10**11, 9 * 10**11, 10**6))


def new_account_id() -> str:
    return str(next(_accounts))


@dataclass
class VerificationApp:
    app: FastAPI
    client: httpx.AsyncClient
    ctx: VerificationContext
    scope: Scope
    tokens: DevTokens

    @property
    def kafka(self) -> str:
        return self.scope.infra.kafka

    async def identity_event(self, account_id: str, payload: EventPayload) -> None:
        """Publish an event as identity does, on this service's identity.events."""
        envelope = new_envelope(payload, producer="identity", account_id=account_id)
        await publish(self.kafka, self.scope.topic("identity.events"), envelope)

    async def register(self, account_id: str | None = None) -> str:
        """An account identity registered, once verification knows it."""
        account_id = account_id or new_account_id()
        await self.identity_event(
            account_id,
            AccountRegistered(registered_at=datetime.now(UTC), method=LoginMethodKind.EMAIL),
        )
        await eventually(
            lambda: self.known(account_id), what=f"account {account_id} projected", timeout_s=30
        )
        return account_id

    async def known(self, account_id: str) -> bool:
        reply = await self.client.get("/v1/real-name", headers=self.auth(account_id, False))
        return reply.status_code == 200

    async def set_status(
        self, account_id: str, status: AccountStatus, reasons: list[str] | None = None
    ) -> None:
        """Identity froze, unfroze or cancelled the account; returns once it is projected."""
        await self.identity_event(
            account_id,
            AccountStatusChanged(
                status=status, frozen_reasons=reasons or [], changed_at=datetime.now(UTC)
            ),
        )

        async def projected() -> bool:
            reply = await self.client.get("/v1/real-name", headers=self.auth(account_id, False))
            return bool(reply.json().get("account_status") == status.value)

        await eventually(projected, what=f"{account_id} {status}")

    async def settled(self, topic: str = "identity.events") -> None:
        """Every event published so far on the topic has been consumed (committed)."""
        settings = self.ctx.settings
        name = self.scope.topic(topic)
        group = f"{settings.consumer_group}.{topic}"

        async def no_lag() -> bool:
            return await group_lag(self.kafka, group, name) == 0

        await eventually(no_lag, what=f"{topic} consumed")

    def auth(self, account_id: str, step_up: bool = True) -> dict[str, str]:
        return self.tokens.headers(account_id, step_up=step_up)

    async def tell(self, account_id: str, outcome: str) -> None:
        reply = await self.client.put(
            "/v1/dev/person-checks", json={"account_id": account_id, "outcome": outcome}
        )
        assert reply.status_code == 204, reply.text

    async def verify_person(
        self,
        account_id: str,
        document_number: str,
        *,
        name: str = "张三",
        method: str = "wechat_scan",
        region: str = "mainland",
        step_up: bool = True,
    ) -> httpx.Response:
        return await self.client.post(
            "/v1/real-name/personal",
            json={
                "method": method,
                "region": region,
                "name": name,
                "document_number": document_number,
            },
            headers=self.auth(account_id, step_up),
        )

    async def events(self, account_id: str | None = None) -> list[Envelope[Any]]:
        records = await read_all(self.kafka, self.scope.topic("verification.events"))
        found = [decode(r.value, REGISTRY) for r in records if r.value is not None]
        return [e for e in found if account_id is None or e.account_id == account_id]

    async def events_of(self, account_id: str, count: int) -> list[Envelope[Any]]:
        """The account's events once there are at least `count` of them."""

        async def enough() -> list[Envelope[Any]] | None:
            found = await self.events(account_id)
            return found if len(found) >= count else None

        return await eventually(enough, what=f"{count} events of {account_id}")


def verification_settings(scope: Scope, **overrides: Any) -> VerificationSettings:
    values: dict[str, Any] = {"person_provider_timeout_s": 1.0, **overrides}
    return scope.settings(VerificationSettings, **values)


@contextlib.asynccontextmanager
async def verification_app(
    scope: Scope, *, clock: Clock | None = None, **overrides: Any
) -> AsyncIterator[VerificationApp]:
    tokens = DevTokens()
    async with running(spec(verification_settings(scope, **overrides), clock=clock)) as (
        app,
        client,
    ):
        tokens.install(app)
        yield VerificationApp(app, client, verification_context(app.state.runtime), scope, tokens)


@pytest.fixture(scope="session")
async def shared_verification(infra: Infra) -> AsyncIterator[VerificationApp]:
    """One verification for the tests that need no special settings: starting one costs
    seconds (its consumer group joins), so they share it and keep apart by account ids."""
    async with verification_app(infra.scope()) as app:
        yield app


@pytest.fixture
async def verification(
    request: pytest.FixtureRequest, infra: Infra, shared_verification: VerificationApp
) -> AsyncIterator[VerificationApp]:
    """The shared service, or a private one when the test sets `verification_settings`."""
    marker = request.node.get_closest_marker("verification_settings")
    if marker is None:
        yield shared_verification
        return
    async with verification_app(infra.scope(), **marker.kwargs) as app:
        yield app
