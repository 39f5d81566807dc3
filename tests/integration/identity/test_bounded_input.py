"""Bounded, clean input (issue 8 item 2; ASVS 5.1.4, 13.1.x): no request reaches the outbox,
Redis, argon2 or PostgreSQL with unbounded or unencodable text; each is a 4xx with a stable
code (before: 500s with a traceback, and a 2 MB `language` that stopped the outbox relay)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.notifier.main import spec as notifier_spec
from services.notifier.settings import NotifierSettings
from shared.service import create_app
from tests.integration.identity.conftest import IdentityApp

pytestmark = pytest.mark.integration
LONE = "\ud800"  # an unpaired UTF-16 surrogate: valid in JSON, not encodable as UTF-8


async def post_raw(identity: IdentityApp, path: str, body: dict[str, Any]) -> httpx.Response:
    """JSON with \\u escapes, as an attacker's client sends it (httpx itself cannot encode a
    lone surrogate)."""
    return await identity.client.post(
        path, content=json.dumps(body), headers={"content-type": "application/json"}
    )


def error_code(reply: httpx.Response) -> str:
    return str(reply.json()["error"]["code"])


@pytest.mark.parametrize(
    "field",
    [
        {"email": f"a{LONE}@example.com", "password": "Secr3t!pass"},
        {"email": "a\x00@example.com", "password": "Secr3t!pass"},
        {"email": "nul@example.com", "password": f"Secr3t!{LONE}"},
        {"email": "nul@example.com", "password": "Secr3t!pass", "captcha_ticket": f"x{LONE}"},
        {"email": "nul@example.com", "password": "Secr3t!pass", "device_id": "d\x00"},
    ],
)
async def test_nul_and_lone_surrogates_are_422_text_invalid_before_anything_counts(
    identity: IdentityApp, field: dict[str, str]
) -> None:
    reply = await post_raw(identity, "/v1/sessions", {"method": "password", **field})
    assert reply.status_code == 422, reply.text
    assert error_code(reply) == "TEXT_INVALID"


async def test_a_lone_surrogate_in_an_assertion_or_registration_is_422(
    identity: IdentityApp,
) -> None:
    login = await post_raw(identity, "/v1/sessions", {"method": "wechat", "assertion": LONE})
    register = await post_raw(
        identity,
        "/v1/accounts",
        {"method": "email", "email": f"{LONE}@x.com", "phone": "+8613900000000", "phone_code": "1"},
    )
    assert (login.status_code, error_code(login)) == (422, "TEXT_INVALID")
    assert (register.status_code, error_code(register)) == (422, "TEXT_INVALID")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/password-resets", {"email": "a\x00@example.com"}),
        ("/v1/password-resets", {"email": f"a{LONE}@example.com"}),
        (
            "/v1/password-resets/confirm",
            {"email": "a@example.com", "code": "123456", "new_password": f"N3w!{LONE}pass"},
        ),
        ("/v1/accounts", {"method": "email", "phone": "+86\x00139", "phone_code": "123456"}),
    ],
)
async def test_every_anonymous_route_refuses_unencodable_text_with_422(
    identity: IdentityApp, path: str, body: dict[str, str]
) -> None:
    reply = await post_raw(identity, path, body)
    assert (reply.status_code, error_code(reply)) == (422, "TEXT_INVALID")


async def test_a_non_numeric_account_id_is_422(identity: IdentityApp) -> None:
    reply = await identity.client.post(
        "/v1/sessions", json={"method": "wechat", "assertion": "a.b.c", "account_id": "abc"}
    )
    assert reply.status_code == 422, reply.text
    assert error_code(reply) == "INVALID_REQUEST"
    assert reply.json()["error"]["details"]["fields"][0]["field"] == "account_id"


async def test_every_string_is_bounded_and_unknown_languages_are_refused(
    identity: IdentityApp,
) -> None:
    code = {"purpose": "register", "channel": "email", "destination": "lang@example.com"}
    long_language = await identity.client.post("/v1/codes", json={**code, "language": "x" * 1000})
    unknown = await identity.client.post("/v1/codes", json={**code, "language": "xx"})
    long_device = await identity.login("lang@example.com", device_id="d" * 10_000)

    assert (long_language.status_code, error_code(long_language)) == (422, "INVALID_REQUEST")
    assert (unknown.status_code, error_code(unknown)) == (400, "LANGUAGE_UNSUPPORTED")
    assert (long_device.status_code, error_code(long_device)) == (422, "INVALID_REQUEST")


async def test_a_body_over_the_cap_is_413_declared_or_chunked(identity: IdentityApp) -> None:
    huge = {"purpose": "register", "channel": "email", "destination": "x@example.com"}
    declared = await identity.client.post("/v1/codes", json={**huge, "language": "x" * 2_000_000})

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"purpose": "register", "language": "'
        for _ in range(100):
            yield b"x" * 10_000
        yield b'"}'

    chunked = await identity.client.post(
        "/v1/codes", content=chunks(), headers={"content-type": "application/json"}
    )
    for reply in (declared, chunked):
        assert reply.status_code == 413
        assert error_code(reply) == "REQUEST_TOO_LARGE"


async def test_a_nul_in_the_notifier_audit_query_is_422() -> None:
    """The notifier's /v1/operator/deliveries: refused before any SQL (it needs no lifespan)."""
    settings = NotifierSettings(operator_token="t" * 32)
    app = create_app(notifier_spec(settings))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://notifier") as client:
        reply = await client.get(
            "/v1/operator/deliveries",
            params={"account_id": "1\x00"},
            headers={"authorization": f"Bearer {'t' * 32}", "x-operator-id": "op-1"},
        )
    assert reply.status_code == 422, reply.text
    assert error_code(reply) == "TEXT_INVALID"
