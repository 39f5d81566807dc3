"""Login protection, flows, step-up and trusted devices (LOGIN-5, LOGIN-6, PROT-1, PROT-2),
over HTTP against the real service, PostgreSQL, Redis and broker."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
import sqlalchemy as sa

from devkit.testing.waiting import eventually
from services.identity.adapters.tables import accounts
from services.identity.main import spec
from shared.events import LoginFailed, LoginSucceeded, ProtectionChanged
from shared.retention import RetentionPruner
from tests.integration.identity.conftest import IdentityApp, new_phone, wrong
from tests.integration.identity.test_lockout import error, events_of

pytestmark = pytest.mark.integration


async def protected_account(identity: IdentityApp, email: str) -> tuple[str, str]:
    """A registered account with login protection on; returns (account id, secure phone)."""
    phone = new_phone()
    reply = await identity.register_email(email, phone=phone)
    account_id = str(reply.json()["account_id"])
    auth = await identity.token(email)
    turned = await identity.client.put(
        "/v1/me/protection", json={"login_protection": True}, headers=auth
    )
    assert turned.status_code == 200, turned.text
    assert turned.json() == {"login_protection": True, "operation_protection": False}
    return account_id, phone


async def second_factor(
    identity: IdentityApp, flow_id: str, phone: str, *, headers: dict[str, str] | None = None
) -> str:
    """Ask the flow for an SMS code and read it where it was delivered."""
    sent = await identity.client.post(
        f"/v1/flows/{flow_id}/codes", json={"channel": "sms"}, headers=headers or {}
    )
    assert sent.status_code == 202, sent.text
    return await identity.code(phone, "second_factor")


async def test_login_5_with_login_protection_a_password_is_half_a_login(
    identity: IdentityApp,
) -> None:
    account_id, phone = await protected_account(identity, "half@example.com")
    first = await identity.login("half@example.com", device_id="laptop")
    assert first.status_code == 202, first.text
    assert "access_token" not in first.json()
    flow = first.json()["flow"]
    assert (flow["kind"], flow["state"], flow["aal"]) == ("login", "pending", 1)
    assert flow["factors"] == ["sms", "email"]  # no MFA device: the secure channels

    code = await second_factor(identity, flow["id"], phone)
    done = await identity.client.post(
        f"/v1/flows/{flow['id']}/complete", json={"factor": "sms", "code": code}
    )
    assert done.status_code == 200, done.text
    token = done.json()["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["amr"] == ["pwd", "sms"] and claims["step_up_at"] == claims["auth_time"]
    me = await identity.client.get("/v1/me", headers={"authorization": f"Bearer {token}"})
    assert me.status_code == 200

    shown = await identity.client.get(f"/v1/flows/{flow['id']}")
    assert (shown.json()["flow"]["state"], shown.json()["flow"]["aal"]) == ("completed", 2)
    again = await identity.client.post(
        f"/v1/flows/{flow['id']}/complete", json={"factor": "sms", "code": code}
    )
    assert error(again) == "FLOW_ALREADY_COMPLETED"

    async def succeeded() -> list[Any]:
        found = await events_of(identity, account_id, LoginSucceeded)
        return [s for s in found if s.second_factor == "sms"]

    login = (await eventually(succeeded, what="LoginSucceeded with sms"))[0]
    assert (login.method, login.device_id) == ("password", "laptop")


async def test_login_5_a_provider_login_is_half_a_login_too(identity: IdentityApp) -> None:
    phone = new_phone()
    registered = await identity.register_third_party("qq", phone=phone, openid="qq-half")
    assert registered.status_code == 201, registered.text
    assertion = await identity.assertion("qq", openid="qq-half")
    logged = await identity.client.post(
        "/v1/sessions", json={"method": "qq", "assertion": assertion}
    )
    auth = {"authorization": f"Bearer {logged.json()['access_token']}"}
    await identity.client.put("/v1/me/protection", json={"login_protection": True}, headers=auth)
    assertion = await identity.assertion("qq", openid="qq-half")
    half = await identity.client.post("/v1/sessions", json={"method": "qq", "assertion": assertion})
    assert half.status_code == 202, half.text
    flow_id = half.json()["flow"]["id"]
    code = await second_factor(identity, flow_id, phone)
    done = await identity.client.post(
        f"/v1/flows/{flow_id}/complete", json={"factor": "sms", "code": code}
    )
    assert done.status_code == 200, done.text
    assert jwt.decode(done.json()["access_token"], options={"verify_signature": False})["amr"] == [
        "fed",
        "sms",
    ]


async def test_prot_2_login_5_an_unavailable_factor_is_refused_and_an_alternative_named(
    identity: IdentityApp,
) -> None:
    """PROT-2: no MFA device: totp is refused and the answer lists what the account can use."""
    await protected_account(identity, "alt@example.com")
    flow = (await identity.login("alt@example.com")).json()["flow"]
    refused = await identity.client.post(
        f"/v1/flows/{flow['id']}/complete", json={"factor": "totp", "code": "123456"}
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "FACTOR_UNAVAILABLE"
    assert refused.json()["error"]["details"]["available"] == ["sms", "email"]


async def test_login_5_wrong_second_factors_are_failed_logins_and_close_the_flow(
    identity: IdentityApp,
) -> None:
    account_id, phone = await protected_account(identity, "wrong2@example.com")
    flow_id = (await identity.login("wrong2@example.com")).json()["flow"]["id"]
    code = await second_factor(identity, flow_id, phone)
    answers = []
    for _ in range(6):
        reply = await identity.client.post(
            f"/v1/flows/{flow_id}/complete", json={"factor": "sms", "code": wrong(code)}
        )
        answers.append(error(reply))
    # CODE-1: a code allows 5 wrong tries; the flow allows FLOW_MAX_FAILURES (5) too.
    assert answers[:5] == ["CODE_INVALID"] * 5
    assert answers[5] == "FLOW_FAILED"
    right = await identity.client.post(
        f"/v1/flows/{flow_id}/complete", json={"factor": "sms", "code": code}
    )
    assert error(right) == "FLOW_FAILED"  # closed: even the right code no longer completes it

    async def failed() -> list[Any]:
        found = await events_of(identity, account_id, LoginFailed)
        return found if len(found) >= 5 else []

    reasons = [f.reason for f in await eventually(failed, what="5 LoginFailed")]
    assert reasons == ["CODE_INVALID"] * 5


async def test_login_5_a_flow_completes_once_under_concurrency(identity: IdentityApp) -> None:
    _, phone = await protected_account(identity, "race2@example.com")
    flow_id = (await identity.login("race2@example.com")).json()["flow"]["id"]
    code = await second_factor(identity, flow_id, phone)
    replies = await asyncio.gather(
        *(
            identity.client.post(
                f"/v1/flows/{flow_id}/complete", json={"factor": "sms", "code": code}
            )
            for _ in range(8)
        )
    )
    assert sorted(r.status_code for r in replies).count(200) == 1


async def test_login_5_trust_this_device_skips_the_second_factor_until_revoked(
    identity: IdentityApp,
) -> None:
    _, phone = await protected_account(identity, "trust@example.com")
    flow_id = (await identity.login("trust@example.com", device_id="Work laptop")).json()["flow"][
        "id"
    ]
    code = await second_factor(identity, flow_id, phone)
    done = await identity.client.post(
        f"/v1/flows/{flow_id}/complete",
        json={"factor": "sms", "code": code, "trust_device": True},
    )
    assert done.status_code == 200, done.text
    credential = done.json()["device_credential"]
    until = datetime.fromisoformat(done.json()["device_trusted_until"])
    assert timedelta(days=6, hours=23) < until - datetime.now(UTC) <= timedelta(days=7)

    skipped = await identity.login(
        "trust@example.com", device_id="Work laptop", device_credential=credential
    )
    assert skipped.status_code == 201, skipped.text  # the second factor is skipped
    assert jwt.decode(skipped.json()["access_token"], options={"verify_signature": False})[
        "amr"
    ] == ["pwd"]
    elsewhere = await identity.login("trust@example.com", device_id="Work laptop")
    assert elsewhere.status_code == 202  # the name alone is not the device

    auth = {"authorization": f"Bearer {skipped.json()['access_token']}"}
    listed = (await identity.client.get("/v1/me/trusted-devices", headers=auth)).json()["devices"]
    assert [d["label"] for d in listed] == ["Work laptop"]
    revoked = await identity.client.delete(
        f"/v1/me/trusted-devices/{listed[0]['id']}", headers=auth
    )
    assert revoked.status_code == 204
    again = await identity.client.delete(f"/v1/me/trusted-devices/{listed[0]['id']}", headers=auth)
    assert error(again) == "DEVICE_NOT_FOUND"
    after = await identity.login("trust@example.com", device_credential=credential)
    assert after.status_code == 202


async def test_login_5_a_password_change_ends_the_trust_of_every_device(
    identity: IdentityApp,
) -> None:
    _, phone = await protected_account(identity, "trustpw@example.com")
    flow_id = (await identity.login("trustpw@example.com")).json()["flow"]["id"]
    code = await second_factor(identity, flow_id, phone)
    done = await identity.client.post(
        f"/v1/flows/{flow_id}/complete", json={"factor": "sms", "code": code, "trust_device": True}
    )
    credential = done.json()["device_credential"]
    auth = {"authorization": f"Bearer {done.json()['access_token']}"}
    new_password = "N3w!passw0rd"
    changed = await identity.client.put(
        "/v1/me/password",
        json={"current_password": "Secr3t!pass", "new_password": new_password},
        headers=auth,
    )
    assert changed.status_code == 204, changed.text
    listed = await identity.client.get("/v1/me/trusted-devices", headers=auth)
    assert listed.json()["devices"] == []
    again = await identity.login("trustpw@example.com", new_password, device_credential=credential)
    assert again.status_code == 202


async def half_done_login(identity: IdentityApp, email: str, phone: str) -> tuple[str, str]:
    """A login stopped after the password: its flow and the second factor's code, unused."""
    half = await identity.login(email)
    assert half.status_code == 202, half.text
    flow_id = str(half.json()["flow"]["id"])
    return flow_id, await second_factor(identity, flow_id, phone)


async def test_pwd_2_a_password_change_closes_half_done_login_flows_of_the_old_password(
    identity: IdentityApp,
) -> None:
    """PWD-2, LOGIN-5: as the other sessions end, a login flow begun with the old password
    can no longer be completed; the step-up flow of the session that changed it stays."""
    phone = new_phone()
    await identity.register_email("flowpw@example.com", phone=phone)
    auth = await identity.token("flowpw@example.com")
    on = await identity.client.put(
        "/v1/me/protection", json={"login_protection": True}, headers=auth
    )
    assert on.status_code == 200, on.text
    flow_id, code = await half_done_login(identity, "flowpw@example.com", phone)
    own = (await identity.client.post("/v1/me/step-up", headers=auth)).json()["flow"]["id"]

    changed = await identity.client.put(
        "/v1/me/password",
        json={"current_password": "Secr3t!pass", "new_password": "N3w!passw0rd"},
        headers=auth,
    )
    assert changed.status_code == 204, changed.text

    late = await identity.client.post(
        f"/v1/flows/{flow_id}/complete", json={"factor": "sms", "code": code}
    )
    assert (late.status_code, error(late)) == (410, "FLOW_EXPIRED")
    kept = await identity.client.get(f"/v1/flows/{own}", headers=auth)
    assert kept.json()["flow"]["state"] == "pending"


async def test_pwd_3_a_password_reset_closes_half_done_login_flows(
    identity: IdentityApp,
) -> None:
    """PWD-3, LOGIN-5: a reset ends every session and every pending flow of the account."""
    _, phone = await protected_account(identity, "flowreset@example.com")
    flow_id, code = await half_done_login(identity, "flowreset@example.com", phone)
    asked = await identity.client.post(
        "/v1/password-resets", json={"email": "flowreset@example.com", "channel": "sms"}
    )
    assert asked.status_code == 202, asked.text
    reset = await identity.client.post(
        "/v1/password-resets/confirm",
        json={
            "email": "flowreset@example.com",
            "channel": "sms",
            "code": await identity.code(phone, "reset_password"),
            "new_password": "N3w!passw0rd",
        },
    )
    assert reset.status_code == 204, reset.text

    late = await identity.client.post(
        f"/v1/flows/{flow_id}/complete", json={"factor": "sms", "code": code}
    )
    assert (late.status_code, error(late)) == (410, "FLOW_EXPIRED")


async def test_prot_1_a_step_up_token_proves_a_fresh_second_factor(identity: IdentityApp) -> None:
    phone = new_phone()
    await identity.register_email("stepup@example.com", phone=phone)
    auth = await identity.token("stepup@example.com")
    # Operation protection on: a password change now needs verification.
    on = await identity.client.put(
        "/v1/me/protection", json={"operation_protection": True}, headers=auth
    )
    assert on.status_code == 200
    body = {"current_password": "Secr3t!pass", "new_password": "N3w!passw0rd"}
    refused = await identity.client.put("/v1/me/password", json=body, headers=auth)
    assert refused.status_code == 403 and error(refused) == "VERIFICATION_REQUIRED"
    assert refused.json()["error"]["details"]["step_up"] == "POST /v1/me/step-up"

    started = await identity.client.post("/v1/me/step-up", headers=auth)
    assert started.status_code == 201, started.text
    flow = started.json()["flow"]
    assert (flow["kind"], flow["aal"]) == ("step_up", 1)
    # A step-up flow is its session's: nobody else sees or completes it.
    assert (await identity.client.get(f"/v1/flows/{flow['id']}")).status_code == 404
    code = await second_factor(identity, flow["id"], phone, headers=auth)
    done = await identity.client.post(
        f"/v1/flows/{flow['id']}/complete", json={"factor": "sms", "code": code}, headers=auth
    )
    assert done.status_code == 200, done.text
    stepped = done.json()["access_token"]
    claims = jwt.decode(stepped, options={"verify_signature": False})
    assert (
        claims["amr"] == ["pwd", "sms"]
        and abs(claims["step_up_at"] - datetime.now(UTC).timestamp()) < 30
    )

    ok = await identity.client.put(
        "/v1/me/password", json=body, headers={"authorization": f"Bearer {stepped}"}
    )
    assert ok.status_code == 204, ok.text


async def test_prot_1_the_step_up_survives_a_refresh_of_its_session(identity: IdentityApp) -> None:
    phone = new_phone()
    await identity.register_email("steprefresh@example.com", phone=phone)
    login = (await identity.login("steprefresh@example.com")).json()
    auth = {"authorization": f"Bearer {login['access_token']}"}
    flow_id = (await identity.client.post("/v1/me/step-up", headers=auth)).json()["flow"]["id"]
    code = await second_factor(identity, flow_id, phone, headers=auth)
    done = await identity.client.post(
        f"/v1/flows/{flow_id}/complete", json={"factor": "sms", "code": code}, headers=auth
    )
    stepped = jwt.decode(done.json()["access_token"], options={"verify_signature": False})
    refreshed = await identity.client.post(
        "/v1/sessions/refresh", json={"refresh_token": login["refresh_token"]}
    )
    claims = jwt.decode(refreshed.json()["access_token"], options={"verify_signature": False})
    assert (claims["amr"], claims["step_up_at"]) == (stepped["amr"], stepped["step_up_at"])


async def test_prot_1_turning_a_protection_off_needs_verification_and_is_told(
    identity: IdentityApp,
) -> None:
    phone = new_phone()
    reply = await identity.register_email("off@example.com", phone=phone)
    account_id = str(reply.json()["account_id"])
    plain = await identity.token("off@example.com")  # a session without a second factor
    on = await identity.client.put(
        "/v1/me/protection", json={"login_protection": True}, headers=plain
    )
    assert on.json()["login_protection"] is True
    refused = await identity.client.put(
        "/v1/me/protection", json={"login_protection": False}, headers=plain
    )
    assert error(refused) == "VERIFICATION_REQUIRED"
    assert (await identity.login("off@example.com")).status_code == 202  # still on
    proof = await identity.proof(plain)
    off = await identity.client.put(
        "/v1/me/protection", json={"login_protection": False, "proof": proof}, headers=plain
    )
    assert off.status_code == 200 and off.json()["login_protection"] is False

    async def changed() -> list[Any]:
        found = await events_of(identity, account_id, ProtectionChanged)
        return found if len(found) >= 2 else []

    turned_on, turned_off = (await eventually(changed, what="2 ProtectionChanged"))[:2]
    assert (turned_on.login_protection_was, turned_on.login_protection) == (False, True)
    assert (turned_off.login_protection_was, turned_off.login_protection) == (True, False)
    assert (await identity.login("off@example.com")).status_code == 201


async def test_login_6_a_login_after_30_days_without_one_is_dormant(identity: IdentityApp) -> None:
    reply = await identity.register_email("dormant@example.com")
    account_id = str(reply.json()["account_id"])
    assert (await identity.login("dormant@example.com")).status_code == 201
    async with identity.ctx.runtime.engine.begin() as conn:
        await conn.execute(
            sa.update(accounts)
            .where(accounts.c.account_id == int(account_id))
            .values(last_login_at=datetime.now(UTC) - timedelta(days=31))
        )
    assert (await identity.login("dormant@example.com")).status_code == 201

    async def logins() -> list[Any]:
        found = await events_of(identity, account_id, LoginSucceeded)
        return found if len(found) >= 2 else []

    first, second = (await eventually(logins, what="2 LoginSucceeded"))[:2]
    assert (first.dormant, second.dormant) == (False, True)


async def test_login_5_a_flow_expires(identity: IdentityApp) -> None:
    _, phone = await protected_account(identity, "expire@example.com")
    flow_id = (await identity.login("expire@example.com")).json()["flow"]["id"]
    code = await second_factor(identity, flow_id, phone)
    async with identity.ctx.runtime.engine.begin() as conn:
        await conn.execute(
            sa.text(
                "UPDATE auth_flows SET expires_at = now() - interval '1 second' WHERE flow_id = :f"
            ),
            {"f": flow_id},
        )
    late = await identity.client.post(
        f"/v1/flows/{flow_id}/complete", json={"factor": "sms", "code": code}
    )
    assert late.status_code == 410 and error(late) == "FLOW_EXPIRED"


async def test_flow_ids_are_checked_before_anything_is_counted(identity: IdentityApp) -> None:
    unknown = await identity.client.post(
        "/v1/flows/00000000-0000-4000-8000-000000000000/complete",
        json={"factor": "sms", "code": "123456"},
    )
    assert error(unknown) == "FLOW_NOT_FOUND"
    malformed = await identity.client.get("/v1/flows/not-a-uuid")
    assert malformed.status_code == 422
    bad_factor = await identity.client.post(
        "/v1/flows/00000000-0000-4000-8000-000000000000/complete",
        json={"factor": "voice", "code": "123456"},
    )
    assert bad_factor.status_code == 422


async def test_expired_flows_are_pruned_after_their_retention(identity: IdentityApp) -> None:
    _, _ = await protected_account(identity, "prune@example.com")
    old = (await identity.login("prune@example.com")).json()["flow"]["id"]
    fresh = (await identity.login("prune@example.com")).json()["flow"]["id"]
    async with identity.ctx.runtime.engine.begin() as conn:
        await conn.execute(
            sa.text(
                "UPDATE auth_flows SET expires_at = now() - interval '2 days' WHERE flow_id = :f"
            ),
            {"f": old},
        )
    settings = identity.ctx.runtime.settings
    pruner = RetentionPruner(
        identity.ctx.runtime.engine,
        outbox_retention_s=settings.outbox_retention_s,
        inbox_retention_s=settings.inbox_retention_s,
        batch_size=settings.retention_batch_size,
        interval_s=settings.retention_interval_s,
        expiring=spec(identity.ctx.settings).expiring,
    )
    pruned = await pruner.prune()
    assert pruned.expired >= 1
    assert error(await identity.client.get(f"/v1/flows/{old}")) == "FLOW_NOT_FOUND"
    assert (await identity.client.get(f"/v1/flows/{fresh}")).status_code == 200


async def step_up(identity: IdentityApp, auth: dict[str, str], phone: str) -> dict[str, str]:
    """PROT-1: the session's step-up by an SMS code; returns the stepped-up authorization."""
    flow_id = (await identity.client.post("/v1/me/step-up", headers=auth)).json()["flow"]["id"]
    code = await second_factor(identity, flow_id, phone, headers=auth)
    done = await identity.client.post(
        f"/v1/flows/{flow_id}/complete", json={"factor": "sms", "code": code}, headers=auth
    )
    assert done.status_code == 200, done.text
    return {"authorization": f"Bearer {done.json()['access_token']}"}


async def test_lm_3_prot_1_a_recent_step_up_verifies_binding_and_unbinding(
    identity: IdentityApp,
) -> None:
    phone = new_phone()
    await identity.register_email("stepbind@example.com", phone=phone)
    plain = await identity.token("stepbind@example.com")
    bind = {"kind": "qq", "assertion": await identity.assertion("qq", openid="qq-stepbind")}
    refused = await identity.client.post("/v1/me/login-methods", json=bind, headers=plain)
    assert refused.status_code == 403 and error(refused) == "VERIFICATION_REQUIRED"

    stepped = await step_up(identity, plain, phone)
    bound = await identity.client.post("/v1/me/login-methods", json=bind, headers=stepped)
    assert bound.status_code == 201, bound.text
    unbound = await identity.client.post("/v1/me/login-methods/qq/unbind", headers=stepped)
    assert unbound.status_code == 204, unbound.text
    # The old token of the same session carries no step-up: it still needs a proof.
    again = await identity.client.post(
        "/v1/me/login-methods",
        json={"kind": "qq", "assertion": await identity.assertion("qq", openid="qq-stepbind")},
        headers=plain,
    )
    assert error(again) == "VERIFICATION_REQUIRED"
