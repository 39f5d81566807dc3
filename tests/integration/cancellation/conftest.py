"""A cancellation service in-process per run (its real lifespan, broker, PostgreSQL and
Redis), accounts made by publishing identity's events, facts published as their producers
would (devkit.testing.facts), and tokens as identity signs them (devkit.testing.tokens)."""

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
import sqlalchemy as sa
from fastapi import FastAPI

from devkit.testing.facts import clear_standings, publish_fact
from devkit.testing.infra import Infra, Scope
from devkit.testing.kafka import publish, read_all
from devkit.testing.services import running
from devkit.testing.tokens import DevTokens
from devkit.testing.waiting import eventually
from services.cancellation.adapters.tables import standings
from services.cancellation.main import spec
from services.cancellation.settings import CancellationSettings
from shared.clock import Clock
from shared.events import (
    REGISTRY,
    AccountRegistered,
    Envelope,
    EventPayload,
    LoginMethodKind,
    Standing,
    decode,
    new_envelope,
    owner_of,
)
from shared.runtime import Runtime

_accounts = itertools.count(random.randrange(10**11, 9 * 10**11, 10**6))


def new_account_id() -> str:
    return str(next(_accounts))


def code(reply: httpx.Response) -> str:
    return str(reply.json()["error"]["code"])


def reasons(reply: httpx.Response) -> list[str]:
    """The reason codes of a PRECONDITIONS_FAILED refusal, in order."""
    assert code(reply) == "PRECONDITIONS_FAILED", reply.text
    return [r["code"] for r in reply.json()["error"]["details"]["reasons"]]


@dataclass
class CancellationApp:
    app: FastAPI
    client: httpx.AsyncClient
    runtime: Runtime
    scope: Scope
    tokens: DevTokens

    @property
    def kafka(self) -> str:
        return self.scope.infra.kafka

    async def identity_event(self, account_id: str, payload: EventPayload) -> None:
        envelope = new_envelope(payload, producer="identity", account_id=account_id)
        await publish(self.kafka, self.scope.topic("identity.events"), envelope)

    async def register(self, account_id: str | None = None) -> str:
        """An account identity registered, once cancellation knows it."""
        account_id = account_id or new_account_id()
        await self.identity_event(
            account_id,
            AccountRegistered(registered_at=datetime.now(UTC), method=LoginMethodKind.EMAIL),
        )

        async def known() -> bool:
            reply = await self.client.get(
                "/v1/cancellation/preconditions", headers=self.auth(account_id, False)
            )
            return reply.status_code == 200

        await eventually(known, what=f"account {account_id} projected", timeout_s=30)
        return account_id

    async def standing_kept(self, account_id: str, standing: Standing) -> bool:
        async with self.runtime.uow() as uow:
            found = (
                await uow.conn.execute(
                    sa.select(standings.c.as_of).where(
                        standings.c.account_id == account_id,
                        standings.c.producer == owner_of(standing.topic),
                    )
                )
            ).scalar_one_or_none()
        return found is not None and found >= standing.as_of

    async def report(self, account_id: str, *facts: Standing) -> None:
        """The producers report the standings; returns once cancellation kept them."""
        for fact in facts:
            await publish_fact(self.scope, fact, account_id)
        for fact in facts:

            async def kept(fact: Standing = fact) -> bool:
                return await self.standing_kept(account_id, fact)

            await eventually(kept, what=f"{fact.event_type} of {account_id}")

    async def clear_account(self) -> str:
        """A registered account every producer reported clear (CAN-2 met)."""
        account = await self.register()
        await self.report(account, *clear_standings(datetime.now(UTC)))
        return account

    def auth(self, account_id: str, step_up: bool = True) -> dict[str, str]:
        return self.tokens.headers(account_id, step_up=step_up)

    async def apply(self, account_id: str, step_up: bool = True) -> httpx.Response:
        return await self.client.post("/v1/cancellation", headers=self.auth(account_id, step_up))

    async def events(self, account_id: str | None = None) -> list[Envelope[Any]]:
        records = await read_all(self.kafka, self.scope.topic("cancellation.events"))
        found = [decode(r.value, REGISTRY) for r in records if r.value is not None]
        return [e for e in found if account_id is None or e.account_id == account_id]

    async def events_of(self, account_id: str, count: int) -> list[Envelope[Any]]:
        async def enough() -> list[Envelope[Any]] | None:
            found = await self.events(account_id)
            return found if len(found) >= count else None

        return await eventually(enough, what=f"{count} events of {account_id}")


@contextlib.asynccontextmanager
async def cancellation_app(
    scope: Scope, *, clock: Clock | None = None, **overrides: Any
) -> AsyncIterator[CancellationApp]:
    tokens = DevTokens()
    settings = scope.settings(CancellationSettings, **overrides)
    async with running(spec(settings, clock=clock)) as (app, client):
        tokens.install(app)
        yield CancellationApp(app, client, app.state.runtime, scope, tokens)


@pytest.fixture(scope="session")
async def shared_cancellation(infra: Infra) -> AsyncIterator[CancellationApp]:
    """One cancellation service for the tests; they keep apart by account ids."""
    async with cancellation_app(infra.scope()) as app:
        yield app


@pytest.fixture
async def cancellation(shared_cancellation: CancellationApp) -> CancellationApp:
    return shared_cancellation


OPERATOR_TOKEN = "operator-token-for-tests-only-0123456789"
OPERATOR = {"authorization": f"Bearer {OPERATOR_TOKEN}", "x-operator-id": "op-11"}


async def shown(cancellation: CancellationApp, account_id: str) -> dict[str, Any]:
    """The applicant's view of its latest application (GET /v1/cancellation)."""
    reply = await cancellation.client.get(
        "/v1/cancellation", headers=cancellation.auth(account_id, False)
    )
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


async def ended(cancellation: CancellationApp, account_id: str) -> dict[str, Any]:
    """The latest application once it is no longer cooling off."""

    async def done() -> dict[str, Any] | None:
        body = await shown(cancellation, account_id)
        return body if body["state"] != "cooling_off" else None

    return await eventually(done, what=f"the application of {account_id} ended")
