"""Sessions that really end (PWD-2; ASVS 3.3.1-3.3.4): found by every close, an absolute
lifetime, single-use refresh tokens with reuse detection, ending the other sessions."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from devkit.testing.kafka import publish
from devkit.testing.waiting import eventually
from shared.events import CancellationRequested, Topic, new_envelope
from tests.integration.identity.conftest import PASSWORD, IdentityApp, new_phone

pytestmark = pytest.mark.integration
NEW_PASSWORD = "N3w!password"


def bearer(reply: httpx.Response) -> dict[str, str]:
    assert reply.status_code in (200, 201), reply.text
    return {"authorization": f"Bearer {reply.json()['access_token']}"}


async def status_of(identity: IdentityApp, auth: dict[str, str]) -> int:
    return (await identity.client.get("/v1/me", headers=auth)).status_code


async def keep_alive_for(identity: IdentityApp, auth: dict[str, str], seconds: float) -> None:
    """Use the session (so it slides) until `seconds` have passed; it must stay live."""
    start = time.monotonic()

    async def passed() -> bool:
        assert await status_of(identity, auth) == 200
        return time.monotonic() - start > seconds

    await eventually(passed, timeout_s=seconds + 10, interval_s=0.2, what="time to pass")


async def refresh(identity: IdentityApp, token: str) -> httpx.Response:
    return await identity.client.post("/v1/sessions/refresh", json={"refresh_token": token})


@pytest.mark.identity_settings(session_ttl_s=1, session_max_s=600)
async def test_pwd_2_sessions_used_past_the_idle_ttl_still_end_at_a_change_and_a_reset(
    identity: IdentityApp,
) -> None:
    """PWD-2: a session kept alive longer than SESSION_TTL_S (its sliding expiry) is still
    found and ended by a password change from another session, and by a reset."""
    phone = new_phone()
    assert (await identity.register_email("sid@example.com", phone=phone)).status_code == 201
    first = bearer(await identity.login("sid@example.com"))
    await keep_alive_for(identity, first, 2.5)
    second = bearer(await identity.login("sid@example.com"))
    changed = await identity.client.put(
        "/v1/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=second,
    )
    assert changed.status_code == 204, changed.text
    assert await status_of(identity, first) == 401
    assert await status_of(identity, second) == 200

    await keep_alive_for(identity, second, 2.5)
    asked = await identity.client.post(
        "/v1/password-resets", json={"email": "sid@example.com", "channel": "sms"}
    )
    assert asked.status_code == 202
    done = await identity.client.post(
        "/v1/password-resets/confirm",
        json={
            "email": "sid@example.com",
            "channel": "sms",
            "code": await identity.code(phone, "reset_password"),
            "new_password": PASSWORD,
        },
    )
    assert done.status_code == 204, done.text
    assert await status_of(identity, second) == 401


@pytest.mark.identity_settings(session_ttl_s=1, session_max_s=600)
async def test_acc_3_a_freeze_ends_sessions_used_past_the_idle_ttl(identity: IdentityApp) -> None:
    """ACC-3, PWD-2: a freeze (CancellationRequested) ends every session, also one kept
    alive longer than SESSION_TTL_S, and its refresh token with it."""
    reply = await identity.register_email("frz@example.com")
    account_id = reply.json()["account_id"]
    login = await identity.login("frz@example.com")
    first = bearer(login)
    await keep_alive_for(identity, first, 2.5)
    second = bearer(await identity.login("frz@example.com"))
    now = datetime.now(UTC)
    await publish(
        identity.kafka,
        identity.scope.topic(Topic.CANCELLATION_EVENTS),
        new_envelope(
            CancellationRequested(application_id="f1", requested_at=now, cooling_off_ends_at=now),
            producer="cancellation",
            account_id=account_id,
        ),
    )

    async def ended() -> bool:
        # Each probe slides the first session while the event travels: only a close ends it.
        return await status_of(identity, first) == 401

    await eventually(ended, interval_s=0.2, what="the freeze to end the sessions")
    assert await status_of(identity, second) == 401
    stale = await refresh(identity, login.json()["refresh_token"])
    assert stale.json()["error"]["code"] == "REFRESH_TOKEN_INVALID"


@pytest.mark.identity_settings(session_ttl_s=60, session_max_s=2)
async def test_a_session_ends_at_its_absolute_lifetime_however_active(
    identity: IdentityApp,
) -> None:
    """ASVS 3.3.2: SESSION_MAX_S bounds a session even while it is used and refreshed."""
    assert (await identity.register_email("abe@example.com")).status_code == 201
    start = time.monotonic()  # before the session begins, so the bound below holds under load
    login = await identity.login("abe@example.com")
    auth = bearer(login)
    refresh_token = login.json()["refresh_token"]

    async def ended() -> bool:
        nonlocal refresh_token, auth
        if await status_of(identity, auth) == 401:
            return True
        renewed = await refresh(identity, refresh_token)
        if renewed.status_code != 200:
            return True
        refresh_token, auth = renewed.json()["refresh_token"], bearer(renewed)
        return False

    await eventually(ended, timeout_s=10, interval_s=0.2, what="the absolute end")
    assert time.monotonic() - start > 1.5
    late = await refresh(identity, refresh_token)
    assert late.status_code == 401
    assert late.json()["error"]["code"] == "REFRESH_TOKEN_INVALID"


async def test_refresh_tokens_rotate_and_a_reused_one_ends_the_whole_session(
    identity: IdentityApp,
) -> None:
    """ASVS 3.3.x: a refresh token is separate from the access token and single use; a used
    one coming back means a copy exists, so the session ends for everyone holding it."""
    assert (await identity.register_email("rot@example.com")).status_code == 201
    login = await identity.login("rot@example.com")
    first_refresh = login.json()["refresh_token"]
    assert first_refresh != login.json()["access_token"]
    renewed = await refresh(identity, first_refresh)
    assert renewed.status_code == 200, renewed.text
    second_refresh = renewed.json()["refresh_token"]
    assert second_refresh != first_refresh
    assert await status_of(identity, bearer(renewed)) == 200

    reused = await refresh(identity, first_refresh)
    assert reused.status_code == 401
    assert reused.json()["error"]["code"] == "REFRESH_TOKEN_REUSED"
    for auth in (bearer(login), bearer(renewed)):
        assert await status_of(identity, auth) == 401
    gone = await refresh(identity, second_refresh)
    assert gone.json()["error"]["code"] == "REFRESH_TOKEN_INVALID"
    # Junk, and a well-formed token of no session, are refused the same way.
    for junk in ("x" * 100, "", f"{login.json()['account_id']}.{'A' * 32}.{'B' * 43}"):
        assert (await refresh(identity, junk)).json()["error"]["code"] == "REFRESH_TOKEN_INVALID"
    too_long = await refresh(identity, login.json()["access_token"])  # no refresh token
    assert too_long.status_code == 422


async def test_parallel_refreshes_with_one_token_rotate_it_once(identity: IdentityApp) -> None:
    """ASVS 3.3.x: rotation is atomic: of 10 parallel refreshes one wins, the rest are reuse."""
    assert (await identity.register_email("par@example.com")).status_code == 201
    token = (await identity.login("par@example.com")).json()["refresh_token"]
    replies = await asyncio.gather(*(refresh(identity, token) for _ in range(10)))
    codes: list[Any] = [200 if r.status_code == 200 else r.json()["error"]["code"] for r in replies]
    assert codes.count(200) == 1
    assert codes.count("REFRESH_TOKEN_REUSED") >= 1
    assert set(codes) <= {200, "REFRESH_TOKEN_REUSED", "REFRESH_TOKEN_INVALID"}
    winner = next(r for r in replies if r.status_code == 200)
    assert await status_of(identity, bearer(winner)) == 401  # the reuse ended the session


async def test_ending_my_other_sessions_keeps_only_this_one(identity: IdentityApp) -> None:
    """PWD-2 companion: `DELETE /v1/sessions/others` ends every session but the caller's."""
    assert (await identity.register_email("oth@example.com")).status_code == 201
    here = bearer(await identity.login("oth@example.com"))
    laptop = await identity.login("oth@example.com")
    phone = bearer(await identity.login("oth@example.com"))
    reply = await identity.client.delete("/v1/sessions/others", headers=here)
    assert reply.status_code == 200
    assert reply.json() == {"ended": 2}
    assert await status_of(identity, here) == 200
    assert await status_of(identity, bearer(laptop)) == 401
    assert await status_of(identity, phone) == 401
    stale = await refresh(identity, laptop.json()["refresh_token"])
    assert stale.json()["error"]["code"] == "REFRESH_TOKEN_INVALID"
