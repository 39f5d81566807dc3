"""Identity outside dev mode: only the gateways' signatures count, and a captcha ticket passes
once, for the identifier it was solved for (ASVS 2.10.4, 6.4.1, 2.2.1; LOGIN-1, REG-6)."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest

from devkit.testing.gateways import ProductionKeys
from devkit.testing.infra import Scope
from services.identity.settings import DEV_FAKE_PROVIDER_SECRET
from tests.integration.identity.conftest import IdentityApp, identity_app, new_phone

pytestmark = pytest.mark.integration


def forged(claims: dict[str, object]) -> str:
    """Minted offline with the committed dev-only secret, as an attacker reading the repo would."""
    now = int(time.time())
    return jwt.encode(
        {"iat": now, "exp": now + 300, "jti": uuid.uuid4().hex, **claims},
        DEV_FAKE_PROVIDER_SECRET,
        algorithm="HS256",
    )


async def test_outside_dev_mode_forged_assertions_and_tickets_are_refused(scope: Scope) -> None:
    keys = ProductionKeys()
    async with identity_app(scope, **keys.settings()) as identity:
        phone = new_phone()
        sent = await identity.client.post(
            "/v1/codes",
            json={
                "purpose": "register",
                "channel": "sms",
                "destination": phone,
                "captcha_ticket": keys.captcha.captcha_ticket(phone),  # CODE-2
            },
        )
        assert sent.status_code == 202, sent.text
        registered = await identity.client.post(
            "/v1/accounts",
            json={
                "method": "wechat",
                "assertion": keys.oauth.assertion("wechat", unionid="union-prod"),
                "phone": phone,
                "phone_code": await identity.code(phone, "register"),
            },
        )
        assert registered.status_code == 201, registered.text

        for assertion in (
            forged({"iss": "fake-wechat", "aud": "account-center", "unionid": "union-prod"}),
            forged(
                {"iss": "oauth-gateway-wechat", "aud": "account-center", "unionid": "union-prod"}
            ),
        ):
            login = await identity.client.post(
                "/v1/sessions", json={"method": "wechat", "assertion": assertion}
            )
            assert login.status_code == 401
            assert login.json()["error"]["code"] == "ASSERTION_INVALID"
        real = keys.oauth.assertion("wechat", unionid="union-prod")
        login = await identity.client.post(
            "/v1/sessions", json={"method": "wechat", "assertion": real}
        )
        assert login.status_code == 201, login.text
        assert (
            await identity.client.post("/v1/dev/assertions", json={"kind": "qq"})
        ).status_code == 404

        ticket = forged({"iss": "captcha", "sub": "eve@example.com"})
        refused = await identity.login("eve@example.com", "Wrong1!pass", captcha_ticket=ticket)
        assert refused.json()["error"]["code"] == "CAPTCHA_INVALID"
        ticket = keys.captcha.captcha_ticket("eve@example.com")
        first = await identity.login("eve@example.com", "Wrong1!pass", captcha_ticket=ticket)
        assert first.json()["error"]["code"] == "INVALID_CREDENTIALS"
        again = await identity.login("eve@example.com", "Wrong1!pass", captcha_ticket=ticket)
        assert again.json()["error"]["code"] == "CAPTCHA_INVALID"


async def test_login_1_a_captcha_ticket_passes_once_and_only_for_its_identifier(
    identity: IdentityApp,
) -> None:
    """LOGIN-1: a solved captcha is one attempt on one login identifier, not a pass for all."""
    await identity.register_email("ursa@example.com")
    for_other = await identity.captcha_ticket("someone-else@example.com")
    rebound = await identity.login("ursa@example.com", captcha_ticket=for_other)
    assert rebound.status_code == 401
    assert rebound.json()["error"]["code"] == "CAPTCHA_INVALID"

    ticket = await identity.captcha_ticket("ursa@example.com")
    assert (await identity.login("ursa@example.com", captcha_ticket=ticket)).status_code == 201
    reused = await identity.login("ursa@example.com", captcha_ticket=ticket)
    assert reused.status_code == 401
    assert reused.json()["error"]["code"] == "CAPTCHA_INVALID"
