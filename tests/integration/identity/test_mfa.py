"""MFA-1..6 and LM-10 over HTTP and the real Redis/PostgreSQL: binding, confirmation, codes
used once, the shared failure budget, operator unbinding, and the secret at rest."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from devkit.testing.infra import Infra
from devkit.testing.waiting import eventually
from services.identity.adapters.login_guard import RedisLoginGuard
from services.identity.adapters.tables import mfa_devices, operator_actions
from services.identity.domain.errors import TotpReplayed
from services.identity.domain.totp import STEP_S, code_for_step
from services.identity.service_layer.totp import check_totp
from shared.events import MfaBound, MfaCodeReplayed, MfaUnbound
from tests.integration.identity.conftest import IdentityApp, identity_app

pytestmark = pytest.mark.integration

OPERATOR = {"authorization": "Bearer op-secret-mfa", "x-operator-id": "emp-42"}
MARGIN_S = 3  # codes are not computed this close to a step boundary


class Authenticator:
    """The person's app: the code of a step, each step used at most once and in order, as a
    server that keeps the last used step requires (one step of drift either way)."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.last: int | None = None

    async def next_code(self) -> str:
        """A code of the oldest step the server still accepts and has not seen; waits for
        the next step (a known instant, not a guess) when all three were used."""
        while True:
            now = time.time()
            if now % STEP_S > STEP_S - MARGIN_S:
                await asyncio.sleep(STEP_S - now % STEP_S + 0.05)
                continue
            current = int(now) // STEP_S
            step = current - 1 if self.last is None else max(self.last + 1, current - 1)
            if step <= current + 1:
                self.last = step
                return code_for_step(self.secret, step)
            await asyncio.sleep((current + 1) * STEP_S - now + 0.05)

    def wrong_code(self) -> str:
        """A code of none of the steps the server accepts now."""
        current = int(time.time()) // STEP_S
        taken = {code_for_step(self.secret, current + d) for d in (-2, -1, 0, 1, 2)}
        return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in taken)


async def account(identity: IdentityApp, email: str) -> tuple[dict[str, str], str]:
    assert (await identity.register_email(email)).status_code == 201
    auth = await identity.token(email)
    me = (await identity.client.get("/v1/me", headers=auth)).json()
    return auth, str(me["account_id"])


async def bind_mfa(identity: IdentityApp, auth: dict[str, str]) -> Authenticator:
    """MFA-2 the way a person does it: verify, scan, type the first code."""
    reply = await identity.client.post(
        "/v1/me/mfa", json={"proof": await identity.proof(auth)}, headers=auth
    )
    assert reply.status_code == 201, reply.text
    app = Authenticator(reply.json()["secret"])
    confirmed = await identity.client.post(
        "/v1/me/mfa/confirm", json={"code": await app.next_code()}, headers=auth
    )
    assert confirmed.status_code == 200, confirmed.text
    return app


def error(reply: httpx.Response) -> str:
    return str(reply.json()["error"]["code"])


async def events_of(identity: IdentityApp, account_id: str, kind: type) -> list[Any]:
    return [
        e
        for e in await identity.events()
        if e.account_id == account_id and isinstance(e.payload, kind)
    ]


async def test_mfa_1_mfa_2_binding_shows_the_secret_once_and_completes_with_one_valid_code(
    identity: IdentityApp,
) -> None:
    """MFA-1, MFA-2: the otpauth URI, QR code and secret once; bound only after a valid code."""
    auth, account_id = await account(identity, "mfa-bind@example.com")

    reply = await identity.client.post(
        "/v1/me/mfa", json={"proof": await identity.proof(auth)}, headers=auth
    )

    assert reply.status_code == 201, reply.text
    assert reply.headers["cache-control"] == "no-store"
    body = reply.json()
    secret = body["secret"]
    assert len(base64.b32decode(secret)) == 20
    assert body["otpauth_uri"].startswith("otpauth://totp/")
    assert f"secret={secret}" in body["otpauth_uri"]
    assert body["qr_svg"].startswith("<svg")
    pending = (await identity.client.get("/v1/me/mfa", headers=auth)).json()
    assert pending == {"state": "pending", "activated_at": None}

    app = Authenticator(secret)
    wrong = await identity.client.post(
        "/v1/me/mfa/confirm", json={"code": app.wrong_code()}, headers=auth
    )
    assert (wrong.status_code, error(wrong)) == (400, "TOTP_INVALID")
    right = await identity.client.post(
        "/v1/me/mfa/confirm", json={"code": await app.next_code()}, headers=auth
    )
    assert right.status_code == 200, right.text
    assert right.json()["state"] == "active"

    shown = await identity.client.get("/v1/me/mfa", headers=auth)
    assert shown.json()["state"] == "active"
    assert secret not in shown.text
    again = await identity.client.post(
        "/v1/me/mfa", json={"proof": await identity.proof(auth)}, headers=auth
    )
    assert (again.status_code, error(again)) == (409, "MFA_ALREADY_BOUND")
    (bound,) = await eventually(lambda: events_of(identity, account_id, MfaBound), what="MfaBound")
    assert secret not in bound.payload.model_dump_json()


async def test_mfa_2_binding_needs_identity_verification_and_a_confirmation_code(
    identity: IdentityApp,
) -> None:
    """MFA-2: no secret without identity verification; no binding to confirm without one."""
    auth, _ = await account(identity, "mfa-verify@example.com")
    proof = await identity.proof(auth)

    unproven = await identity.client.post(
        "/v1/me/mfa",
        json={"proof": {**proof, "code": "000000" if proof["code"] != "000000" else "111111"}},
        headers=auth,
    )
    no_binding = await identity.client.post(
        "/v1/me/mfa/confirm", json={"code": "123456"}, headers=auth
    )

    assert error(unproven) == "CODE_INVALID"
    assert (no_binding.status_code, error(no_binding)) == (409, "MFA_NOT_BOUND")
    assert (await identity.client.get("/v1/me/mfa", headers=auth)).json()["state"] == "none"


async def test_mfa_2_unbinding_needs_verification_and_emits_mfa_unbound_by_the_owner(
    identity: IdentityApp,
) -> None:
    """MFA-2: unbinding needs verification; MfaUnbound names the owner."""
    auth, account_id = await account(identity, "mfa-unbind@example.com")
    app = await bind_mfa(identity, auth)

    refused = await identity.client.post(
        "/v1/me/mfa/unbind",
        json={"proof": {"factor": "totp", "code": app.wrong_code()}},
        headers=auth,
    )
    assert error(refused) == "TOTP_INVALID"
    assert (await identity.client.get("/v1/me/mfa", headers=auth)).json()["state"] == "active"

    unbound = await identity.client.post(
        "/v1/me/mfa/unbind",
        json={"proof": {"factor": "totp", "code": await app.next_code()}},
        headers=auth,
    )
    assert unbound.status_code == 204, unbound.text
    assert (await identity.client.get("/v1/me/mfa", headers=auth)).json()["state"] == "none"
    (event,) = await eventually(
        lambda: events_of(identity, account_id, MfaUnbound), what="MfaUnbound"
    )
    assert event.payload.by == "owner"
    gone = await identity.client.post(
        "/v1/me/mfa/unbind", json={"proof": await identity.proof(auth)}, headers=auth
    )
    assert error(gone) == "MFA_NOT_BOUND"


async def test_prot_2_a_totp_code_proves_identity_and_the_old_channel_field_still_works(
    identity: IdentityApp,
) -> None:
    """PROT-2: totp, sms or email prove the owner; `channel` still names sms/email."""
    auth, _ = await account(identity, "mfa-proof@example.com")
    without_device = await identity.client.post(
        "/v1/me/login-methods",
        json={
            "kind": "qq",
            "assertion": await identity.assertion("qq", openid="qq-mfa-proof"),
            "verification": {"factor": "totp", "code": "123456"},
        },
        headers=auth,
    )
    assert (without_device.status_code, error(without_device)) == (409, "MFA_NOT_BOUND")
    assert without_device.json()["error"]["details"]["alternatives"] == ["sms", "email"]
    app = await bind_mfa(identity, auth)

    by_totp = await identity.client.post(
        "/v1/me/login-methods",
        json={
            "kind": "qq",
            "assertion": await identity.assertion("qq", openid="qq-mfa-proof"),
            "verification": {"factor": "totp", "code": await app.next_code()},
        },
        headers=auth,
    )
    by_channel = await identity.client.post(
        "/v1/me/login-methods/qq/unbind", json=await identity.proof(auth), headers=auth
    )
    sms = await identity.proof(auth)
    by_factor = await identity.client.post(
        "/v1/me/login-methods",
        json={
            "kind": "qq",
            "assertion": await identity.assertion("qq", openid="qq-mfa-proof"),
            "verification": {"factor": "sms", "code": sms["code"]},
        },
        headers=auth,
    )
    disagreeing = await identity.client.post(
        "/v1/me/mfa/unbind",
        json={"proof": {"factor": "totp", "channel": "sms", "code": "1"}},
        headers=auth,
    )
    neither = await identity.client.post(
        "/v1/me/mfa/unbind", json={"proof": {"code": "1"}}, headers=auth
    )

    assert by_totp.status_code == 201, by_totp.text
    assert by_channel.status_code == 204, by_channel.text
    assert by_factor.status_code == 201, by_factor.text
    assert disagreeing.status_code == neither.status_code == 422


async def test_mfa_3_two_parallel_submissions_of_one_code_give_one_success(
    identity: IdentityApp,
) -> None:
    """MFA-3: of two parallel submissions of one code, exactly one passes."""
    auth, account_id = await account(identity, "mfa-race@example.com")
    app = await bind_mfa(identity, auth)
    code = await app.next_code()

    results = await asyncio.gather(
        check_totp(identity.ctx, int(account_id), code),
        check_totp(identity.ctx, int(account_id), code),
        return_exceptions=True,
    )

    assert sorted(type(r).__name__ for r in results) == ["NoneType", "TotpReplayed"]


async def test_mfa_3_a_replayed_code_is_refused_recorded_and_the_owner_notified(
    identity: IdentityApp,
) -> None:
    """MFA-3 (ASVS 2.8.4/2.8.5): a replay is refused and MfaCodeReplayed tells the owner."""
    auth, account_id = await account(identity, "mfa-replay@example.com")
    app = await bind_mfa(identity, auth)
    code = await app.next_code()
    await check_totp(identity.ctx, int(account_id), code)  # accepted: no exception

    replay = await identity.client.post(
        "/v1/me/mfa/unbind", json={"proof": {"factor": "totp", "code": code}}, headers=auth
    )

    assert (replay.status_code, error(replay)) == (400, "TOTP_REPLAYED")
    assert (await identity.client.get("/v1/me/mfa", headers=auth)).json()["state"] == "active"
    (event,) = await eventually(
        lambda: events_of(identity, account_id, MfaCodeReplayed), what="MfaCodeReplayed"
    )
    assert code not in event.model_dump_json()
    with pytest.raises(TotpReplayed):
        await check_totp(identity.ctx, int(account_id), code)


@pytest.mark.identity_settings(login_failure_budget=4, login_captcha_after=100)
async def test_mfa_3_wrong_totp_codes_spend_the_failure_budget_shared_with_passwords(
    identity: IdentityApp,
) -> None:
    """MFA-3, LOGIN-4 (NIST SP 800-63B 5.2.2) as for one-time codes: a guess counts
    whatever the factor; junk that is no code is refused before anything is counted."""
    auth, _ = await account(identity, "mfa-budget@example.com")
    app = await bind_mfa(identity, auth)
    guard = identity.ctx.guard
    assert isinstance(guard, RedisLoginGuard)
    subject = identity.ctx.login_subject("mfa-budget@example.com")

    junk = await identity.client.post(
        "/v1/me/mfa/unbind", json={"proof": {"factor": "totp", "code": "12a456"}}, headers=auth
    )
    assert error(junk) == "TOTP_INVALID"
    assert await guard.streak(subject) == 0
    wrong = await identity.login("mfa-budget@example.com", "Wrong-pass-1!")
    assert wrong.status_code == 401
    for _ in range(3):
        reply = await identity.client.post(
            "/v1/me/mfa/unbind",
            json={"proof": {"factor": "totp", "code": app.wrong_code()}},
            headers=auth,
        )
        assert error(reply) == "TOTP_INVALID"

    spent = await identity.client.post(
        "/v1/me/mfa/unbind",
        json={"proof": {"factor": "totp", "code": await app.next_code()}},
        headers=auth,
    )
    assert (spent.status_code, error(spent)) == (423, "LOGIN_LOCKED_UNTIL_RESET")
    assert error(await identity.login("mfa-budget@example.com")) == "LOGIN_LOCKED_UNTIL_RESET"
    assert (await identity.client.get("/v1/me/mfa", headers=auth)).json()["state"] == "active"


@pytest.mark.identity_settings(operator_token="op-secret-mfa")
async def test_mfa_4_an_operator_unbinds_a_lost_device_after_review_audited(
    identity: IdentityApp,
) -> None:
    """MFA-4: a lost device is unbound by an operator, with who and why in operator_actions."""
    auth, account_id = await account(identity, "mfa-lost@example.com")
    await bind_mfa(identity, auth)
    path = f"/v1/operator/accounts/{account_id}/mfa/unbind"

    anonymous = await identity.client.post(path, json={"reason": "lost"})
    no_reason = await identity.client.post(path, json={"reason": ""}, headers=OPERATOR)
    assert (anonymous.status_code, error(anonymous)) == (401, "OPERATOR_UNAUTHENTICATED")
    assert no_reason.status_code == 422
    assert (await identity.client.get("/v1/me/mfa", headers=auth)).json()["state"] == "active"

    done = await identity.client.post(
        path, json={"reason": "ticket 4711: phone lost, identity checked"}, headers=OPERATOR
    )

    assert done.status_code == 200, done.text
    assert (await identity.client.get("/v1/me/mfa", headers=auth)).json()["state"] == "none"
    async with identity.ctx.runtime.engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(operator_actions).where(operator_actions.c.account_id == str(account_id))
            )
        ).all()
    assert [(r.operator_id, r.action, r.reason) for r in rows] == [
        ("emp-42", "mfa_unbind", "ticket 4711: phone lost, identity checked")
    ]
    (event,) = await eventually(
        lambda: events_of(identity, account_id, MfaUnbound), what="MfaUnbound"
    )
    assert event.payload.by == "operator"
    twice = await identity.client.post(path, json={"reason": "again"}, headers=OPERATOR)
    assert (twice.status_code, error(twice)) == (409, "MFA_NOT_BOUND")


async def test_mfa_3_mfa_4_the_owners_unbinding_forgets_the_last_used_step(
    identity: IdentityApp,
) -> None:
    """MFA-3, MFA-4: as after an operator's unbinding, the owner's unbinding clears the
    Redis window of used steps, so a device bound right after accepts its first code even
    from a step the old device already used; the new device's replays are still refused."""
    auth, account_id = await account(identity, "mfa-rebind@example.com")
    old = await bind_mfa(identity, auth)
    unbound = await identity.client.post(
        "/v1/me/mfa/unbind",
        json={"proof": {"factor": "totp", "code": await old.next_code()}},
        headers=auth,
    )
    assert unbound.status_code == 204, unbound.text
    assert old.last is not None
    key = f"{identity.ctx.settings.redis_key_prefix}totp:{{{account_id}}}:last-step"
    assert await identity.ctx.runtime.redis.exists(key) == 0

    reply = await identity.client.post(
        "/v1/me/mfa", json={"proof": await identity.proof(auth)}, headers=auth
    )
    assert reply.status_code == 201, reply.text
    new = Authenticator(reply.json()["secret"])
    first = await new.next_code()
    assert new.last is not None and new.last <= old.last  # a step the old device used
    confirmed = await identity.client.post("/v1/me/mfa/confirm", json={"code": first}, headers=auth)
    assert confirmed.status_code == 200, confirmed.text
    replayed = await identity.client.post(
        "/v1/me/mfa/unbind", json={"proof": {"factor": "totp", "code": first}}, headers=auth
    )
    assert error(replayed) == "TOTP_REPLAYED"


async def test_mfa_5_lm_10_unbinding_wechat_leaves_the_mfa_device_working(
    identity: IdentityApp,
) -> None:
    """MFA-5, LM-10: unbinding WeChat leaves the MFA device bound and working."""
    auth, _ = await account(identity, "mfa-wechat@example.com")
    bound = await identity.client.post(
        "/v1/me/login-methods",
        json={
            "kind": "wechat",
            "assertion": await identity.assertion("wechat", unionid="union-mfa-lm10"),
            "verification": await identity.proof(auth),
        },
        headers=auth,
    )
    assert bound.status_code == 201, bound.text
    app = await bind_mfa(identity, auth)

    unbound = await identity.client.post(
        "/v1/me/login-methods/wechat/unbind",
        json={"factor": "totp", "code": await app.next_code()},
        headers=auth,
    )

    assert unbound.status_code == 204, unbound.text
    assert (await identity.client.get("/v1/me/mfa", headers=auth)).json()["state"] == "active"
    still = await identity.client.post(
        "/v1/me/mfa/unbind",
        json={"proof": {"factor": "totp", "code": await app.next_code()}},
        headers=auth,
    )
    assert still.status_code == 204, still.text


async def _stored(identity: IdentityApp, account_id: str) -> Any:
    async with identity.ctx.runtime.engine.connect() as conn:
        return (
            await conn.execute(
                sa.select(mfa_devices).where(mfa_devices.c.account_id == int(account_id))
            )
        ).one()


async def test_mfa_6_the_secret_is_only_ciphertext_in_the_database_and_in_no_event(
    identity: IdentityApp,
) -> None:
    """MFA-6: the database holds only ciphertext; no event carries the secret."""
    auth, account_id = await account(identity, "mfa-rest@example.com")
    app = await bind_mfa(identity, auth)
    secret = app.secret

    row = await _stored(identity, account_id)

    ciphertext = bytes(row.secret_ciphertext)
    assert row.key_id == identity.ctx.secret_box.current_key_id
    assert secret.encode() not in ciphertext
    assert base64.b32decode(secret) not in ciphertext
    assert len(ciphertext) == 12 + len(secret) + 16  # nonce, AES-GCM body, tag
    await eventually(lambda: events_of(identity, account_id, MfaBound), what="MfaBound")
    for topic in ("identity.events", "notifier.requests"):
        for envelope in await identity.events(topic):
            assert secret not in envelope.model_dump_json()


@contextlib.asynccontextmanager
async def _identity_with_keys(scope: Any, keys: str, key_id: str) -> AsyncIterator[IdentityApp]:
    async with identity_app(scope, mfa_encryption_keys=keys, mfa_encryption_key_id=key_id) as app:
        yield app


def _key(byte: int) -> str:
    return base64.b64encode(bytes([byte]) * 32).decode()


async def test_mfa_6_after_a_key_rotation_old_secrets_decrypt_and_move_to_the_new_key(
    infra: Infra,
) -> None:
    """MFA-6: after a key rotation an old secret opens, then moves to the new key."""
    scope = infra.scope()
    async with _identity_with_keys(scope, f"k1:{_key(7)}", "k1") as before:
        auth, account_id = await account(before, "mfa-rotate@example.com")
        app = await bind_mfa(before, auth)
        assert (await _stored(before, account_id)).key_id == "k1"

    rotated = f"k2:{_key(8)},k1:{_key(7)}"
    async with _identity_with_keys(scope, rotated, "k2") as after:
        auth = await after.token("mfa-rotate@example.com")
        await check_totp(after.ctx, int(account_id), await app.next_code())  # opens under k1
        # Used once under the new ring, the secret moved to the current key.
        assert (await _stored(after, account_id)).key_id == "k2"

    async with _identity_with_keys(scope, f"k2:{_key(8)}", "k2") as retired:
        auth = await retired.token("mfa-rotate@example.com")
        unbound = await retired.client.post(
            "/v1/me/mfa/unbind",
            json={"proof": {"factor": "totp", "code": await app.next_code()}},
            headers=auth,
        )
        assert unbound.status_code == 204, unbound.text
        await bind_mfa(retired, auth)
        assert (await _stored(retired, account_id)).key_id == "k2"


async def test_prot_2_a_step_up_completed_by_totp_proves_otp_and_a_replay_there_is_named(
    identity: IdentityApp,
) -> None:
    """PROT-2, MFA-3: TOTP completes a step-up (amr otp); a replay there says step_up."""
    auth, account_id = await account(identity, "mfa-step-up@example.com")
    app = await bind_mfa(identity, auth)
    started = await identity.client.post("/v1/me/step-up", headers=auth)
    assert started.status_code == 201, started.text
    flow = started.json()["flow"]
    assert "totp" in flow["factors"]
    code = await app.next_code()

    done = await identity.client.post(
        f"/v1/flows/{flow['id']}/complete", json={"factor": "totp", "code": code}, headers=auth
    )
    assert done.status_code == 200, done.text
    assert "otp" in done.json()["amr"]
    unproven = await identity.client.post("/v1/me/mfa/unbind", json={}, headers=auth)
    assert (unproven.status_code, error(unproven)) == (403, "VERIFICATION_REQUIRED")

    again = (await identity.client.post("/v1/me/step-up", headers=auth)).json()["flow"]
    replay = await identity.client.post(
        f"/v1/flows/{again['id']}/complete", json={"factor": "totp", "code": code}, headers=auth
    )
    assert error(replay) == "TOTP_REPLAYED"
    (event,) = await eventually(
        lambda: events_of(identity, account_id, MfaCodeReplayed), what="MfaCodeReplayed"
    )
    assert event.payload.during == "step_up"


async def test_mfa_2_a_fresh_step_up_stands_in_for_the_proof_of_an_unbinding(
    identity: IdentityApp,
) -> None:
    """MFA-2, PROT-1: a fresh step-up stands in for the proof."""
    auth, _ = await account(identity, "mfa-stepped@example.com")
    app = await bind_mfa(identity, auth)
    flow = (await identity.client.post("/v1/me/step-up", headers=auth)).json()["flow"]
    done = await identity.client.post(
        f"/v1/flows/{flow['id']}/complete",
        json={"factor": "totp", "code": await app.next_code()},
        headers=auth,
    )
    stepped_up = {"authorization": f"Bearer {done.json()['access_token']}"}

    unbound = await identity.client.post("/v1/me/mfa/unbind", json={}, headers=stepped_up)

    assert unbound.status_code == 204, unbound.text
    assert (await identity.client.get("/v1/me/mfa", headers=auth)).json()["state"] == "none"
