"""The lockout beyond LOGIN-1..4's basics (issue 8 items 7, 8, 10): a way out of the lock,
a lock that cannot be farmed, records that cannot be dodged, a lock that outlives Redis."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime
from typing import Any

import httpx
import pytest

from devkit.testing.waiting import eventually
from services.identity.adapters.password_hasher import Argon2Hasher
from services.identity.domain.channels import login_key
from services.identity.domain.errors import InvalidCredentials
from services.identity.service_layer import login as login_cases
from services.identity.strategies import password as password_strategy
from shared.events import (
    AccountLocked,
    LoginFailed,
    LoginSucceeded,
    NotificationRequested,
    Topic,
)
from tests.integration.identity.conftest import PASSWORD, IdentityApp, new_phone, wrong

pytestmark = pytest.mark.integration
WRONG_PASSWORD = "Wrong1!pass"
NEW_PASSWORD = "N3w!password"
NO_CAPTCHA = {"login_captcha_after": 1000}


def error(reply: httpx.Response) -> str:
    return str(reply.json()["error"]["code"]) if reply.status_code >= 400 else "ok"


async def events_of(identity: IdentityApp, account_id: str, *types: type) -> list[Any]:
    return [
        e.payload
        for e in await identity.events()
        if e.account_id == account_id and isinstance(e.payload, types)
    ]


async def wait_events(identity: IdentityApp, account_id: str, kind: type, count: int) -> list[Any]:
    async def enough() -> list[Any]:
        found = await events_of(identity, account_id, kind)
        return found if len(found) >= count else []

    return await eventually(enough, what=f"{count} {kind.__name__}")


async def fail(identity: IdentityApp, email: str, times: int) -> list[str]:
    return [error(await identity.login(email, WRONG_PASSWORD)) for _ in range(times)]


async def reset(identity: IdentityApp, email: str, phone: str, new: str) -> httpx.Response:
    asked = await identity.client.post(
        "/v1/password-resets", json={"email": email, "channel": "sms"}
    )
    assert asked.status_code == 202, asked.text
    return await identity.client.post(
        "/v1/password-resets/confirm",
        json={
            "email": email,
            "channel": "sms",
            "code": await identity.code(phone, "reset_password"),
            "new_password": new,
        },
    )


# --- item 10: a Redis loss does not lift a lock -----------------------------------------


@pytest.mark.identity_settings(**NO_CAPTCHA, login_lock_after=3, login_lock_window_s=4)
async def test_login_2_login_4_a_lock_outlives_the_loss_of_redis(identity: IdentityApp) -> None:
    """LOGIN-2, LOGIN-4: the lock's end is recorded in PostgreSQL with AccountLocked; with
    every Redis key of the run gone, the right password is still refused until that end."""
    reply = await identity.register_email("lou@example.com")
    account_id = reply.json()["account_id"]
    assert await fail(identity, "lou@example.com", 3) == ["INVALID_CREDENTIALS"] * 3
    locked = await identity.login("lou@example.com")
    assert error(locked) == "LOGIN_LOCKED"
    until = locked.json()["error"]["details"]["locked_until"]

    redis = identity.ctx.runtime.redis
    keys = [k async for k in redis.scan_iter(match=f"{identity.scope.prefix}*")]
    assert keys
    await redis.delete(*keys)

    after_loss = await identity.login("lou@example.com")  # the right password
    assert error(after_loss) == "LOGIN_LOCKED"
    assert after_loss.json()["error"]["details"]["locked_until"] == until
    (event,) = await wait_events(identity, account_id, AccountLocked, 1)
    assert event.locked_until == datetime.fromisoformat(until)

    async def unlocked() -> bool:
        return (await identity.login("lou@example.com")).status_code == 201

    await eventually(unlocked, timeout_s=15, interval_s=0.25, what="the recorded end")
    assert datetime.now().astimezone() >= datetime.fromisoformat(until)


# The two locks PostgreSQL keeps: a run's (LOGIN-2) and a spent failure budget's.
RUN_LOCK = pytest.param(
    "LOGIN_LOCKED",
    marks=pytest.mark.identity_settings(**NO_CAPTCHA, login_lock_after=10),
    id="run",
)
SPENT_BUDGET = pytest.param(
    "LOGIN_LOCKED_UNTIL_RESET",
    marks=pytest.mark.identity_settings(
        **NO_CAPTCHA, login_lock_after=1000, login_failure_budget=10
    ),
    id="budget",
)


@pytest.mark.parametrize("refusal", [RUN_LOCK, SPENT_BUDGET])
async def test_login_4_parallel_right_passwords_after_a_redis_loss_are_all_refused(
    identity: IdentityApp, refusal: str
) -> None:
    """LOGIN-4 (and LOGIN-2): right after a Redis loss, 20 parallel right passwords start a
    new run and streak in Redis; the lock PostgreSQL recorded belongs to another one, so
    none gets in."""
    await identity.register_email("par@example.com")
    assert await fail(identity, "par@example.com", 10) == ["INVALID_CREDENTIALS"] * 10
    redis = identity.ctx.runtime.redis
    keys = [k async for k in redis.scan_iter(match=f"{identity.scope.prefix}*")]
    await redis.delete(*keys)

    replies = await asyncio.gather(*(identity.login("par@example.com") for _ in range(20)))
    assert [error(r) for r in replies] == [refusal] * 20


@pytest.mark.parametrize("refusal", [RUN_LOCK, SPENT_BUDGET])
async def test_login_4_an_attempt_counted_before_its_own_lock_is_a_counted_failure(
    identity: IdentityApp, monkeypatch: pytest.MonkeyPatch, refusal: str
) -> None:
    """LOGIN-4: the 1st attempt of a run (and streak) is counted in Redis, then its account
    lookup is slow; meanwhile 99 parallel attempts bring the count to 10 and the 10th
    records the lock in PostgreSQL. The slow one reads that lock afterwards, but it is the
    lock of the run (streak) Redis counted it in: it answers INVALID_CREDENTIALS, so exactly
    10 are counted failures and 90 are refused."""
    reply = await identity.register_email("slow@example.com")
    account_id = reply.json()["account_id"]
    reached, release = asyncio.Event(), asyncio.Event()
    lookup = password_strategy.account_by_email

    async def slow_first_lookup(ctx: Any, key: str) -> Any:
        if not reached.is_set():
            reached.set()
            await release.wait()
        return await lookup(ctx, key)

    monkeypatch.setattr(password_strategy, "account_by_email", slow_first_lookup)
    slow = asyncio.create_task(identity.login("slow@example.com", WRONG_PASSWORD))
    await asyncio.wait_for(reached.wait(), timeout=10)  # counted as the 1st failure
    others = await asyncio.gather(*(fail(identity, "slow@example.com", 1) for _ in range(99)))
    recorded = await lookup(identity.ctx, login_key("slow@example.com"))
    assert recorded.password_locked_until or recorded.password_lock_until_reset  # by the 10th
    release.set()
    answers = [error(await asyncio.wait_for(slow, timeout=10))] + [a for (a,) in others]

    assert answers[0] == "INVALID_CREDENTIALS"
    assert answers.count("INVALID_CREDENTIALS") == 10
    assert answers.count(refusal) == 90
    assert error(await identity.login("slow@example.com")) == refusal
    (locked,) = await wait_events(identity, account_id, AccountLocked, 1)
    assert locked.failures == 10
    failed = await wait_events(identity, account_id, LoginFailed, 10)
    assert [f.reason for f in failed].count("INVALID_CREDENTIALS") == 10


# --- item 8: records that cannot be dodged ----------------------------------------------


class ExplodingHasher(Argon2Hasher):
    """The password check crashes (a bug, an argon2 failure) after the attempt is counted."""

    async def verify(self, stored: str | None, password: str) -> bool:
        raise RuntimeError("injected failure in the password check")


@pytest.mark.identity_settings(**NO_CAPTCHA, login_lock_after=3)
async def test_login_8_a_failure_after_counting_leaves_no_count_without_its_record(
    identity: IdentityApp,
) -> None:
    """LOGIN-8: an attempt whose record cannot be written (the database refuses the history
    row) or whose check crashes is not counted either: no lock ever lacks its AccountLocked,
    no counted failure lacks its LoginFailed."""
    reply = await identity.register_email("nul@example.com")
    account_id = reply.json()["account_id"]
    ctx = identity.ctx
    poisoned = login_cases.Client(device_id="dev\x00ice", ip="192.0.2.1")
    for _ in range(5):  # the history insert fails: PostgreSQL refuses NUL in text
        with pytest.raises(Exception) as crashed:
            await password_strategy.password_login(
                ctx, "nul@example.com", WRONG_PASSWORD, captcha=None, client=poisoned
            )
        assert not isinstance(crashed.value, InvalidCredentials)
    exploding = dataclasses.replace(ctx, hasher=ExplodingHasher(ctx.settings))
    for _ in range(5):
        with pytest.raises(RuntimeError):
            await password_strategy.password_login(
                exploding, "nul@example.com", WRONG_PASSWORD, captcha=None, client=poisoned
            )
    assert (await identity.login("nul@example.com")).status_code == 201  # nothing counted

    assert await fail(identity, "nul@example.com", 3) == ["INVALID_CREDENTIALS"] * 3
    assert error(await identity.login("nul@example.com")) == "LOGIN_LOCKED"
    (locked,) = await wait_events(identity, account_id, AccountLocked, 1)
    assert locked.failures == 3
    failed = await wait_events(identity, account_id, LoginFailed, 4)
    assert [f.reason for f in failed] == ["INVALID_CREDENTIALS"] * 3 + ["LOGIN_LOCKED"]


async def test_login_6_a_device_is_known_by_the_credential_identity_issued_not_by_its_name(
    identity: IdentityApp,
) -> None:
    """LOGIN-6 (and LOGIN-8): a device is known once it presents the credential a login
    issued to it; a client-chosen device id alone proves nothing."""
    reply = await identity.register_email("nodev@example.com")
    account_id = reply.json()["account_id"]
    first = await identity.login("nodev@example.com")
    assert first.status_code == 201
    second = await identity.login("nodev@example.com", device_id="d-1")
    credential = second.json()["device_credential"]
    third = await identity.login("nodev@example.com", device_id="d-1")
    assert third.status_code == 201 and third.json()["device_credential"] != credential
    known = await identity.login("nodev@example.com", device_id="d-1", device_credential=credential)
    assert known.status_code == 201 and "device_credential" not in known.json()
    found = await wait_events(identity, account_id, LoginSucceeded, 4)
    assert [(s.device_id, s.new_device) for s in found] == [
        (None, True),
        ("d-1", True),
        ("d-1", True),
        ("d-1", False),
    ]


async def test_sec_2_sec_3_change_notices_go_to_the_old_phone_and_email_by_name(
    identity: IdentityApp,
) -> None:
    """SEC-2, SEC-3 (ASVS 2.5.5): the person who loses a secure channel hears of it there,
    by an explicit request to the old destination, not by the contacts projection."""
    old_phone, new_phone_number = new_phone(), new_phone()
    reply = await identity.register_email("ole@example.com", phone=old_phone)
    account_id = reply.json()["account_id"]
    auth = await identity.token("ole@example.com")
    await identity.send_code("change_secure_phone", "sms", new_phone_number)
    changed = await identity.client.put(
        "/v1/me/secure-phone",
        json={
            "verification": await identity.proof(auth),
            "new_phone": new_phone_number,
            "new_phone_code": await identity.code(new_phone_number, "change_secure_phone"),
        },
        headers=auth,
    )
    assert changed.status_code == 200, changed.text

    # Registration by email made the proven login email the secure email.
    await identity.send_code("change_secure_email", "email", "ole.new@example.com")
    moved = await identity.client.put(
        "/v1/me/secure-email",
        json={
            "verification": await identity.proof(auth, "email"),
            "new_email": "ole.new@example.com",
            "new_email_code": await identity.code("ole.new@example.com", "change_secure_email"),
        },
        headers=auth,
    )
    assert moved.status_code == 200, moved.text

    async def notices() -> list[NotificationRequested]:
        found = [
            e.payload
            for e in await identity.events(Topic.NOTIFIER_REQUESTS)
            if e.account_id == account_id
            and isinstance(e.payload, NotificationRequested)
            and e.payload.message_type != "verification_code"
        ]
        return found if len(found) >= 2 else []

    sent = await eventually(notices, what="notices to the old channels")
    assert [(n.message_type, n.channel.value, n.destination) for n in sent] == [
        ("secure_phone_changed", "sms", old_phone),
        ("secure_email_changed", "email", "ole@example.com"),
    ]
    assert sent[0].params["phone"] != new_phone_number  # masked, like the event
    assert sent[0].params["account_id"] == account_id


# --- item 7: a way out of the lock, and a lock that cannot be farmed ----------------------


@pytest.mark.identity_settings(**NO_CAPTCHA, login_lock_after=3)
async def test_login_3_a_completed_password_reset_lifts_the_lock(identity: IdentityApp) -> None:
    """LOGIN-3, PWD-3: a code to the secure phone proves the owner, so a reset ends the lock
    (a stranger's failures do not keep the owner out for the rest of the hour)."""
    phone = new_phone()
    await identity.register_email("rae@example.com", phone=phone)
    await fail(identity, "rae@example.com", 3)
    assert error(await identity.login("rae@example.com")) == "LOGIN_LOCKED"
    done = await reset(identity, "rae@example.com", phone, NEW_PASSWORD)
    assert done.status_code == 204, done.text
    assert (await identity.login("rae@example.com", NEW_PASSWORD)).status_code == 201


@pytest.mark.identity_settings(**NO_CAPTCHA, login_lock_after=3, operator_token="op-secret-1")
async def test_login_3_an_operator_lifts_the_lock_with_the_operator_credential(
    identity: IdentityApp,
) -> None:
    """LOGIN-3: support can unlock an account; the endpoint needs the operator credential
    and names the operator (audit-logged by shared/operators.py)."""
    reply = await identity.register_email("opi@example.com")
    account_id = reply.json()["account_id"]
    await fail(identity, "opi@example.com", 3)
    path = f"/v1/operator/accounts/{account_id}/unlock"
    anonymous = await identity.client.post(path)
    assert error(anonymous) == "OPERATOR_UNAUTHENTICATED"
    forged = await identity.client.post(
        path, headers={"authorization": "Bearer nope", "x-operator-id": "emp-7"}
    )
    assert error(forged) == "OPERATOR_UNAUTHENTICATED"
    assert error(await identity.login("opi@example.com")) == "LOGIN_LOCKED"
    operator = {"authorization": "Bearer op-secret-1", "x-operator-id": "emp-7"}
    unlocked = await identity.client.post(path, headers=operator)
    assert unlocked.status_code == 200, unlocked.text
    assert unlocked.json() == {"account_id": account_id, "unlocked": True}
    assert (await identity.login("opi@example.com")).status_code == 201
    missing = await identity.client.post("/v1/operator/accounts/1/unlock", headers=operator)
    assert error(missing) == "ACCOUNT_NOT_FOUND"


@pytest.mark.identity_settings(**NO_CAPTCHA, login_lock_after=2, login_lock_window_s=3)
async def test_login_2_lock_notices_are_rate_limited_and_refusals_summarised(
    identity: IdentityApp,
) -> None:
    """LOGIN-2, LOGIN-8: a lock renewed again and again tells the owner once a day
    (LOCK_NOTICE_INTERVAL_S); refusals while locked become log2(n) summary records, and the
    rest is recorded by the next attempt after the lock."""
    reply = await identity.register_email("ren@example.com")
    account_id = reply.json()["account_id"]
    await fail(identity, "ren@example.com", 2)
    refused = await fail(identity, "ren@example.com", 5)
    assert refused == ["LOGIN_LOCKED"] * 5

    async def lock_over() -> bool:
        return error(await identity.login("ren@example.com", WRONG_PASSWORD)) != "LOGIN_LOCKED"

    # Each probe is a refusal until the lock ends; the first one let through fails (wrong).
    await eventually(lock_over, timeout_s=15, interval_s=0.1, what="the first lock to end")
    await fail(identity, "ren@example.com", 1)  # the second failure of a new run: locked again
    assert error(await identity.login("ren@example.com")) == "LOGIN_LOCKED"

    locks = await wait_events(identity, account_id, AccountLocked, 2)
    assert [lock.notify_owner for lock in locks] == [True, False]
    failed = await events_of(identity, account_id, LoginFailed)
    summaries = [f.attempts for f in failed if f.reason == "LOGIN_LOCKED"]
    total_refusals = sum(summaries)
    # Every refusal of the first lock is recorded (summary rows plus the tail), in few rows.
    assert total_refusals >= 5
    assert len(summaries) < total_refusals


@pytest.mark.identity_settings(**NO_CAPTCHA, login_ip_failures=4, login_ip_window_s=600)
async def test_login_4_a_client_ip_is_throttled_across_accounts_before_any_argon2(
    identity: IdentityApp,
) -> None:
    """LOGIN-4 (ASVS 2.2.1): spraying one password over many accounts from one address
    meets LOGIN_THROTTLED after LOGIN_IP_FAILURES failures, before any password is checked;
    parallel attempts cannot slip past it."""
    emails = [f"spray{i}@example.com" for i in range(3)]
    for email in emails:
        assert (await identity.register_email(email)).status_code == 201
    assert (await identity.login(emails[0])).status_code == 201  # a success costs nothing

    checks = 0
    real = identity.ctx.hasher

    class Counting(Argon2Hasher):
        async def verify(self, stored: str | None, password: str) -> bool:
            nonlocal checks
            checks += 1
            return await real.verify(stored, password)

    identity.ctx.hasher = Counting(identity.ctx.settings)
    try:
        replies = await asyncio.gather(
            *(identity.login(emails[i % 3], WRONG_PASSWORD) for i in range(20)),
            *(identity.login(f"nobody{i}@example.com", WRONG_PASSWORD) for i in range(10)),
        )
        codes = [error(r) for r in replies]
        assert codes.count("INVALID_CREDENTIALS") == 4
        assert codes.count("LOGIN_THROTTLED") == 26
        assert checks == 4
        right = await identity.login(emails[1])  # even the right password waits
        assert error(right) == "LOGIN_THROTTLED"
        assert 0 < right.json()["error"]["details"]["retry_after_s"] <= 600
        assert checks == 4
    finally:
        identity.ctx.hasher = real


@pytest.mark.identity_settings(**NO_CAPTCHA, login_lock_after=1000, login_failure_budget=5)
async def test_login_4_a_failure_budget_shared_by_passwords_and_codes(
    identity: IdentityApp,
) -> None:
    """LOGIN-4 (NIST SP 800-63B 5.2.2, at most 100): consecutive failures of passwords and
    identity-verification codes share one budget; once spent, password login stays locked
    (LOGIN_LOCKED_UNTIL_RESET) until a password reset."""
    phone = new_phone()
    reply = await identity.register_email("bud@example.com", phone=phone)
    account_id = reply.json()["account_id"]
    auth = await identity.token("bud@example.com")
    assert await fail(identity, "bud@example.com", 3) == ["INVALID_CREDENTIALS"] * 3
    sent = await identity.client.post(
        "/v1/me/verification-codes", json={"channel": "sms"}, headers=auth
    )
    assert sent.status_code == 202
    code = await identity.code(phone, "verify_identity")
    for _ in range(2):
        refused = await identity.client.post(
            "/v1/me/login-methods",
            json={
                "kind": "wechat",
                "assertion": await identity.assertion("wechat", unionid="u-bud"),
                "verification": {"channel": "sms", "code": wrong(code)},
            },
            headers=auth,
        )
        assert error(refused) == "CODE_INVALID"
    spent = await identity.login("bud@example.com")  # the right password
    assert error(spent) == "LOGIN_LOCKED_UNTIL_RESET"
    assert spent.status_code == 423
    locks = await wait_events(identity, account_id, AccountLocked, 1)
    assert [(lock.until_reset, lock.failures) for lock in locks] == [(True, 5)]

    done = await reset(identity, "bud@example.com", phone, NEW_PASSWORD)
    assert done.status_code == 204, done.text
    assert (await identity.login("bud@example.com", NEW_PASSWORD)).status_code == 201


@pytest.mark.identity_settings(**NO_CAPTCHA, login_lock_after=1000, login_failure_budget=7)
async def test_login_4_parallel_failures_spend_the_budget_exactly(identity: IdentityApp) -> None:
    """LOGIN-4: 40 parallel wrong passwords against a budget of 7 check exactly 7."""
    reply = await identity.register_email("par-bud@example.com")
    account_id = reply.json()["account_id"]
    replies = await asyncio.gather(
        *(identity.login("par-bud@example.com", WRONG_PASSWORD) for _ in range(40))
    )
    codes = [error(r) for r in replies]
    assert codes.count("INVALID_CREDENTIALS") == 7
    assert codes.count("LOGIN_LOCKED_UNTIL_RESET") == 33
    locks = await wait_events(identity, account_id, AccountLocked, 1)
    assert len(locks) == 1 and locks[0].until_reset


@pytest.mark.identity_settings(**NO_CAPTCHA, login_lock_after=3)
async def test_login_2_the_current_password_check_of_a_change_counts_too(
    identity: IdentityApp,
) -> None:
    """LOGIN-2, PWD-2: a stolen session cannot guess the current password: its wrong
    guesses lock password login like wrong logins do."""
    reply = await identity.register_email("chg@example.com")
    account_id = reply.json()["account_id"]
    auth = await identity.token("chg@example.com")
    for _ in range(3):
        guessed = await identity.client.put(
            "/v1/me/password",
            json={"current_password": WRONG_PASSWORD, "new_password": NEW_PASSWORD},
            headers=auth,
        )
        assert error(guessed) == "INVALID_CREDENTIALS"
    again = await identity.client.put(
        "/v1/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=auth,
    )
    assert error(again) == "LOGIN_LOCKED"
    assert error(await identity.login("chg@example.com")) == "LOGIN_LOCKED"
    failed = await wait_events(identity, account_id, LoginFailed, 3)
    assert {f.method for f in failed[:3]} == {"password_change"}


def test_the_failure_budget_setting_cannot_pass_nist_s_hundred() -> None:
    """LOGIN-4 (NIST SP 800-63B 5.2.2): LOGIN_FAILURE_BUDGET is at most 100."""
    from pydantic import ValidationError

    from services.identity.settings import IdentitySettings

    with pytest.raises(ValidationError):
        IdentitySettings(login_failure_budget=101)
