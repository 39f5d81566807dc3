"""Binding and unbinding login methods (LM-1..LM-11) over HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from devkit.testing.waiting import eventually
from services.identity.domain.flows import Factor
from services.identity.domain.login_methods import QuotaExceeded
from services.identity.service_layer.login_methods import Bind, bind
from services.identity.service_layer.protection import Proof
from shared.events import LoginMethodBound, LoginMethodKind, LoginMethodUnbound
from tests.integration.identity.conftest import IdentityApp, without_codes, wrong

pytestmark = pytest.mark.integration


async def account(identity: IdentityApp, email: str) -> dict[str, str]:
    assert (await identity.register_email(email)).status_code == 201
    return await identity.token(email)


async def bind_third_party(
    identity: IdentityApp, auth: dict[str, str], kind: str, **claims: Any
) -> Any:
    return await identity.client.post(
        "/v1/me/login-methods",
        json={
            "kind": kind,
            "assertion": await identity.assertion(kind, **claims),
            "verification": await identity.proof(auth),
        },
        headers=auth,
    )


async def test_lm_3_binding_needs_identity_verification_first(identity: IdentityApp) -> None:
    """LM-3 / PROT-2: without a valid code from a secure channel nothing is bound."""
    auth = await account(identity, "uma@example.com")
    assertion = await identity.assertion("qq", openid="qq-uma")
    proof = await identity.proof(auth)
    reply = await identity.client.post(
        "/v1/me/login-methods",
        json={
            "kind": "qq",
            "assertion": assertion,
            "verification": {**proof, "code": wrong(proof["code"])},
        },
        headers=auth,
    )
    assert reply.json()["error"]["code"] == "CODE_INVALID"
    me = (await identity.client.get("/v1/me", headers=auth)).json()
    assert [m["kind"] for m in me["login_methods"]] == ["email"]


async def test_lm_1_lm_11_bind_and_unbind_emit_events_and_one_of_each_kind(
    identity: IdentityApp,
) -> None:
    """LM-1: at most one method of each kind; LM-11: LoginMethodBound / LoginMethodUnbound."""
    auth = await account(identity, "vic@example.com")
    account_id = (await identity.client.get("/v1/me", headers=auth)).json()["account_id"]
    bound = await bind_third_party(identity, auth, "qq", openid="qq-vic")
    assert bound.status_code == 201, bound.text
    second = await bind_third_party(identity, auth, "qq", openid="qq-vic-2")
    assert second.json()["error"]["code"] == "LOGIN_METHOD_KIND_ALREADY_BOUND"
    unbind = await identity.client.post(
        "/v1/me/login-methods/qq/unbind", json=await identity.proof(auth), headers=auth
    )
    assert unbind.status_code == 204

    async def events() -> list[Any]:
        found = [
            e.payload
            for e in await identity.events()
            if e.account_id == account_id
            and isinstance(e.payload, (LoginMethodBound, LoginMethodUnbound))
        ]
        return found if len(found) == 2 else []

    bound_event, unbound_event = await eventually(events, what="bind and unbind events")
    assert isinstance(bound_event, LoginMethodBound) and bound_event.kind is LoginMethodKind.QQ
    assert isinstance(unbound_event, LoginMethodUnbound)
    assert "qq-vic" not in bound_event.identifier_masked  # masked


async def test_lm_4_the_only_method_cannot_be_unbound(identity: IdentityApp) -> None:
    auth = await account(identity, "wes@example.com")
    reply = await identity.client.post(
        "/v1/me/login-methods/email/unbind", json=await identity.proof(auth), headers=auth
    )
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "LAST_LOGIN_METHOD"


async def test_lm_5_an_unbound_method_can_be_bound_again_elsewhere(identity: IdentityApp) -> None:
    """LM-5 (and LM-2 for QQ): free again once unbound, to this or another account."""
    first = await account(identity, "xia@example.com")
    second = await account(identity, "yul@example.com")
    assert (await bind_third_party(identity, first, "qq", openid="qq-moving")).status_code == 201
    taken = await bind_third_party(identity, second, "qq", openid="qq-moving")
    assert taken.json()["error"]["code"] == "LOGIN_METHOD_QUOTA_EXCEEDED"
    await identity.client.post(
        "/v1/me/login-methods/qq/unbind", json=await identity.proof(first), headers=first
    )
    assert (await bind_third_party(identity, second, "qq", openid="qq-moving")).status_code == 201


async def test_lm_6_binding_email_needs_a_password_and_the_code_sent_to_it(
    identity: IdentityApp,
) -> None:
    """LM-6: new email + new password (PWD-1) + the code sent to that email. PROT-2: without
    a secure email the answer names the alternative; the bound email becomes the secure one."""
    reply = await identity.register_third_party("wechat", unionid="union-zed")
    assert reply.status_code == 201
    login = await identity.client.post(
        "/v1/sessions",
        json={
            "method": "wechat",
            "assertion": await identity.assertion("wechat", unionid="union-zed"),
        },
    )
    auth = {"authorization": f"Bearer {login.json()['access_token']}"}
    no_email = await identity.client.post(
        "/v1/me/verification-codes", json={"channel": "email"}, headers=auth
    )
    assert no_email.status_code == 400
    assert no_email.json()["error"]["details"] == {"channel": "email", "alternative": "sms"}
    weak = await identity.client.post(
        "/v1/me/login-methods",
        json={
            "kind": "email",
            "email": "zed@example.com",
            "password": "weak",
            "email_code": "123456",
            "verification": {"channel": "sms", "code": "123456"},
        },
        headers=auth,
    )
    assert weak.json()["error"]["code"] == "PASSWORD_TOO_SHORT"
    assert (await identity.send_code("bind_email", "email", "zed@example.com")).status_code == 202
    good = await identity.client.post(
        "/v1/me/login-methods",
        json={
            "kind": "email",
            "email": "zed@example.com",
            "password": "Zed!pass99",
            "email_code": await identity.code("zed@example.com", "bind_email"),
            "verification": await identity.proof(auth),
        },
        headers=auth,
    )
    assert good.status_code == 201, good.text
    assert (await identity.login("zed@example.com", "Zed!pass99")).status_code == 201
    settings = (await identity.client.get("/v1/me/settings", headers=auth)).json()
    assert settings["secure_email"] == "zed@example.com"


async def test_lm_7_a_wechat_person_is_their_unionid_not_the_openid(identity: IdentityApp) -> None:
    """LM-7: the same UnionID through two apps (two OpenIDs) is one person."""
    reply = await identity.register_third_party("wechat", unionid="union-lm7", openid="app-a")
    assert reply.status_code == 201
    other_app = await identity.assertion("wechat", unionid="union-lm7", openid="app-b")
    login = await identity.client.post(
        "/v1/sessions", json={"method": "wechat", "assertion": other_app}
    )
    assert login.status_code == 201
    assert login.json()["account_id"] == reply.json()["account_id"]
    no_union = identity.fake_idp.mint(LoginMethodKind.WECHAT, openid="app-c")
    refused = await identity.client.post(
        "/v1/sessions", json={"method": "wechat", "assertion": no_union}
    )
    assert refused.json()["error"]["code"] == "ASSERTION_INVALID"


async def test_lm_8_the_official_account_slot_holds_an_official_account_or_a_mini_program(
    identity: IdentityApp,
) -> None:
    auth = await account(identity, "amy@example.com")
    oa = await bind_third_party(
        identity, auth, "official_account", app_id="wx-oa-lm8", subtype="official_account"
    )
    assert oa.status_code == 201
    mp = await bind_third_party(
        identity, auth, "official_account", app_id="wx-mp-lm8", subtype="mini_program"
    )
    assert mp.json()["error"]["code"] == "OFFICIAL_ACCOUNT_SLOT_TAKEN"
    other = await account(identity, "ben8@example.com")
    again = await bind_third_party(
        identity, other, "official_account", app_id="wx-oa-lm8", subtype="official_account"
    )
    assert again.json()["error"]["code"] == "LOGIN_METHOD_QUOTA_EXCEEDED"


async def test_lm_9_a_revoked_or_incomplete_authorization_refuses_login_with_the_reason(
    identity: IdentityApp,
) -> None:
    """LM-9: the binding stays, login fails with a clear reason; re-authorizing fixes it."""
    claims = {"app_id": "wx-oa-lm9", "subtype": "official_account"}
    reply = await identity.register_third_party("official_account", **claims)
    assert reply.status_code == 201

    async def login(**extra: Any) -> Any:
        assertion = await identity.assertion("official_account", **claims, **extra)
        return await identity.client.post(
            "/v1/sessions", json={"method": "official_account", "assertion": assertion}
        )

    revoked = await login(revoked=True)
    assert revoked.status_code == 403
    assert revoked.json()["error"]["code"] == "AUTHORIZATION_REVOKED"
    assert "authorize again" in revoked.json()["error"]["message"]
    partial = await login(permissions=["profile"])
    assert partial.json()["error"]["code"] == "PERMISSIONS_INCOMPLETE"
    assert "account-service permission" in partial.json()["error"]["message"]
    assert (await login()).status_code == 201  # re-authorized with every permission


async def test_lm_2_sixty_parallel_binds_of_one_wechat_give_exactly_fifty(
    identity: IdentityApp,
) -> None:
    """LM-2: one WeChat person binds at most 50 accounts, under concurrency too."""
    ctx = without_codes(identity.ctx)
    registered = await asyncio.gather(
        *(identity.register_email(f"fleet{i}@example.com") for i in range(60))
    )
    account_ids = [int(r.json()["account_id"]) for r in registered]
    assertion = await identity.assertion("wechat", unionid="union-fleet-owner")

    async def attempt(account_id: int) -> object:
        try:
            return await bind(
                ctx,
                account_id,
                Bind(LoginMethodKind.WECHAT, Proof(Factor.SMS, "000000"), assertion=assertion),
            )
        except Exception as exc:
            return exc

    results = await asyncio.gather(*(attempt(a) for a in account_ids))
    assert sum(isinstance(r, str) for r in results) == 50
    assert sum(isinstance(r, QuotaExceeded) for r in results) == 10
    login = await identity.client.post(
        "/v1/sessions", json={"method": "wechat", "assertion": assertion}
    )
    assert login.json()["error"]["code"] == "ACCOUNT_CHOICE_REQUIRED"
    assert len(login.json()["error"]["details"]["accounts"]) == 50
    chosen = login.json()["error"]["details"]["accounts"][7]
    picked = await identity.client.post(
        "/v1/sessions", json={"method": "wechat", "assertion": assertion, "account_id": chosen}
    )
    assert picked.json()["account_id"] == chosen
