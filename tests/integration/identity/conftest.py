"""An identity service in-process per test, plus helpers that act as a person would."""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from devkit.testing.accounts import TEST_PASSWORD, UNLIMITED_CODES, register_by_email
from devkit.testing.codes import code_sent_to
from devkit.testing.infra import Infra, Scope
from devkit.testing.kafka import read_all
from devkit.testing.services import running
from services.identity.adapters.fakes import FakeIdentityProvider, minting_idp
from services.identity.domain.codes import Budget
from services.identity.main import spec
from services.identity.service_layer.context import IdentityContext, context_of
from services.identity.settings import IdentitySettings
from shared.events import REGISTRY, Envelope, decode

PASSWORD = TEST_PASSWORD
_phones = itertools.count(10000000)


def wrong(code: str) -> str:
    """A 6-digit code that is certainly not `code`."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


def new_phone() -> str:
    """A distinct valid mainland mobile number per call."""
    return f"+86139{next(_phones):08d}"


@dataclass
class IdentityApp:
    client: httpx.AsyncClient
    ctx: IdentityContext
    scope: Scope

    @property
    def kafka(self) -> str:
        return self.scope.infra.kafka

    @property
    def fake_idp(self) -> FakeIdentityProvider:
        """The fake identity provider (dev mode) this identity verifies assertions with."""
        return minting_idp(self.ctx.idp)

    async def code(self, destination: str, purpose: str) -> str:
        return await code_sent_to(self.kafka, self.scope.prefix, destination, purpose)

    async def send_code(self, purpose: str, channel: str, destination: str) -> httpx.Response:
        """POST /v1/codes as the console does: a captcha solved for the destination first."""
        return await self.client.post(
            "/v1/codes",
            json={
                "purpose": purpose,
                "channel": channel,
                "destination": destination,
                "captcha_ticket": await self.captcha_ticket(destination),
            },
        )

    async def register_email(
        self, email: str, *, phone: str | None = None, password: str = PASSWORD
    ) -> httpx.Response:
        """The whole REG-2/REG-3 flow over HTTP, codes read from their delivery requests."""
        return await register_by_email(
            self.client,
            kafka=self.kafka,
            topic_prefix=self.scope.prefix,
            email=email,
            phone=phone or new_phone(),
            password=password,
        )

    async def register_third_party(
        self, kind: str, *, phone: str | None = None, **claims: Any
    ) -> httpx.Response:
        phone = phone or new_phone()
        assertion = await self.assertion(kind, **claims)
        assert (await self.send_code("register", "sms", phone)).status_code == 202
        return await self.client.post(
            "/v1/accounts",
            json={
                "method": kind,
                "assertion": assertion,
                "phone": phone,
                "phone_code": await self.code(phone, "register"),
            },
        )

    async def assertion(self, kind: str, **claims: Any) -> str:
        reply = await self.client.post("/v1/dev/assertions", json={"kind": kind, **claims})
        assert reply.status_code == 201, reply.text
        return str(reply.json()["assertion"])

    async def captcha_ticket(self, identifier: str) -> str:
        reply = await self.client.post("/v1/dev/captcha-tickets", json={"identifier": identifier})
        assert reply.status_code == 201, reply.text
        return str(reply.json()["ticket"])

    async def login(self, email: str, password: str = PASSWORD, **extra: Any) -> httpx.Response:
        return await self.client.post(
            "/v1/sessions",
            json={"method": "password", "email": email, "password": password, **extra},
        )

    async def token(self, email: str, password: str = PASSWORD) -> dict[str, str]:
        reply = await self.login(email, password)
        assert reply.status_code == 201, reply.text
        return {"authorization": f"Bearer {reply.json()['access_token']}"}

    async def proof(self, auth: dict[str, str], channel: str = "sms") -> dict[str, str]:
        """PROT-2: ask for a verify_identity code and read it where it was sent."""
        reply = await self.client.post(
            "/v1/me/verification-codes", json={"channel": channel}, headers=auth
        )
        assert reply.status_code == 202, reply.text
        settings = (await self.client.get("/v1/me/settings", headers=auth)).json()
        destination = settings["secure_phone"] if channel == "sms" else settings["secure_email"]
        return {"channel": channel, "code": await self.code(destination, "verify_identity")}

    async def events(self, topic: str = "identity.events") -> list[Envelope[Any]]:
        records = await read_all(self.kafka, self.scope.topic(topic))
        return [decode(r.value, REGISTRY) for r in records if r.value is not None]


class CodesAlwaysMatch:
    """A fake code port for races on the database: every code proves its destination."""

    async def spend(self, budgets: Sequence[Budget]) -> None:
        return None

    async def refund(self, budgets: Sequence[Budget]) -> None:
        return None

    async def issue(self, purpose: str, destination: str) -> str:
        return "000000"

    async def verify(self, purpose: str, destination: str, code: str) -> None:
        return None

    async def forget(self, destination: str) -> int:
        return 0


def without_codes(ctx: IdentityContext) -> IdentityContext:
    """The same context with codes taken for granted (tests of quotas under concurrency)."""
    return dataclasses.replace(ctx, codes=CodesAlwaysMatch())


def identity_settings(scope: Scope, **overrides: Any) -> IdentitySettings:
    values: dict[str, Any] = {
        "dev_mode": True,
        "argon2_time_cost": 1,
        "argon2_memory_kib": 1024,
        **UNLIMITED_CODES,
        "login_ip_failures": 100000,  # every test logs in from 127.0.0.1
        **overrides,
    }
    return scope.settings(IdentitySettings, **values)


@contextlib.asynccontextmanager
async def identity_app(scope: Scope, **overrides: Any) -> AsyncIterator[IdentityApp]:
    async with running(spec(identity_settings(scope, **overrides))) as (app, client):
        yield IdentityApp(client, context_of(app.state.runtime), scope)


@pytest.fixture(scope="session")
async def shared_identity(infra: Infra) -> AsyncIterator[IdentityApp]:
    """One identity for the tests that need no special settings: starting one costs seconds
    (its consumer groups join), so they share it and keep apart by distinct emails/phones."""
    async with identity_app(infra.scope()) as app:
        yield app


@pytest.fixture
async def identity(
    request: pytest.FixtureRequest, infra: Infra, shared_identity: IdentityApp
) -> AsyncIterator[IdentityApp]:
    """The shared identity, or a private one when the test sets `identity_settings`."""
    marker = request.node.get_closest_marker("identity_settings")
    if marker is None:
        yield shared_identity
        return
    async with identity_app(infra.scope(), **marker.kwargs) as app:
        yield app
