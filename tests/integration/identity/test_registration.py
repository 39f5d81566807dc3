"""Registration over HTTP, real Redis, PostgreSQL and broker (ACC, REG, SEC-1, SEC-5, CODE)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from services.identity.domain.errors import SecurePhoneQuotaExceeded
from services.identity.domain.login_methods import QuotaExceeded
from services.identity.service_layer.registration import Registered, Registration, register
from shared.events import (
    AccountContacts,
    AccountRegistered,
    LoginMethodKind,
    NotificationRequested,
)
from tests.integration.identity.conftest import (
    PASSWORD,
    IdentityApp,
    new_phone,
    without_codes,
    wrong,
)

pytestmark = pytest.mark.integration


async def test_acc_1_reg_2_reg_3_email_registration_proves_email_and_phone(
    identity: IdentityApp,
) -> None:
    """ACC-1: numeric immutable ID at once, registration time kept; REG-2: password + email
    code; REG-3: secure phone proven by SMS code."""
    phone = new_phone()
    reply = await identity.register_email("Gina@Example.com", phone=phone)
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["account_id"].isdigit() and body["method"] == "email"
    assert body["login"] == "G***@example.com"
    auth = await identity.token("gina@example.com")  # usable at once, case-insensitive login
    settings = (await identity.client.get("/v1/me/settings", headers=auth)).json()
    assert settings["secure_phone"] == phone
    assert settings["registered_at"] == body["registered_at"]
    events = await identity.events()
    (registered,) = [
        e
        for e in events
        if isinstance(e.payload, AccountRegistered) and e.account_id == body["account_id"]
    ]
    assert registered.account_id == body["account_id"]
    contacts = [
        e for e in await identity.events("identity.contacts") if e.account_id == body["account_id"]
    ]
    assert contacts[-1].payload == AccountContacts(
        secure_phone=phone,
        secure_email="Gina@example.com",  # the proven login email is the secure email too
        message_phone=None,
        contact_email="Gina@example.com",
        language="zh-CN",
    )


async def test_reg_2_a_wrong_email_code_registers_nothing(identity: IdentityApp) -> None:
    phone = new_phone()
    await identity.send_code("register", "email", "hal@example.com")
    await identity.send_code("register", "sms", phone)
    reply = await identity.client.post(
        "/v1/accounts",
        json={
            "method": "email",
            "email": "hal@example.com",
            "password": PASSWORD,
            "email_code": wrong(await identity.code("hal@example.com", "register")),
            "phone": phone,
            "phone_code": await identity.code(phone, "register"),
        },
    )
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "CODE_INVALID"
    assert (await identity.login("hal@example.com")).status_code == 401


async def test_reg_2_the_password_policy_applies_at_registration(identity: IdentityApp) -> None:
    reply = await identity.register_email("ivy@example.com", password="short")
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["code"] == "PASSWORD_TOO_SHORT"
    assert {v["code"] for v in error["details"]["violations"]} >= {
        "PASSWORD_TOO_SHORT",
        "PASSWORD_NEEDS_UPPERCASE",
        "PASSWORD_NEEDS_DIGIT",
        "PASSWORD_NEEDS_SPECIAL",
    }


@pytest.mark.parametrize(
    ("kind", "claims"),
    [
        ("wechat", {"unionid": "union-reg-1"}),
        ("qq", {"openid": "qq-reg-1"}),
        ("wecom", {"openid": "wecom-reg-1"}),
        ("official_account", {"app_id": "wxoa-reg-1", "subtype": "official_account"}),
        ("official_account", {"app_id": "wxmp-reg-1", "subtype": "mini_program"}),
    ],
)
async def test_reg_1_reg_6_every_third_party_method_registers_through_its_assertion(
    identity: IdentityApp, kind: str, claims: dict[str, str]
) -> None:
    """REG-1: five methods; REG-6: the assertion is verified by the provider adapter; the
    method becomes the first login method and logs in."""
    reply = await identity.register_third_party(kind, **claims)
    assert reply.status_code == 201, reply.text
    assert reply.json()["method"] == kind
    login = await identity.client.post(
        "/v1/sessions", json={"method": kind, "assertion": await identity.assertion(kind, **claims)}
    )
    assert login.status_code == 201, login.text
    assert login.json()["account_id"] == reply.json()["account_id"]


async def test_reg_6_a_forged_or_foreign_assertion_is_refused(identity: IdentityApp) -> None:
    """REG-6: signature, audience and expiry are checked."""
    phone = new_phone()
    await identity.send_code("register", "sms", phone)
    forged = identity.fake_idp.mint(LoginMethodKind.QQ, audience="someone-else")
    for assertion in (forged, "not-a-token"):
        reply = await identity.client.post(
            "/v1/accounts",
            json={"method": "qq", "assertion": assertion, "phone": phone, "phone_code": "123456"},
        )
        assert reply.status_code == 401
        assert reply.json()["error"]["code"] == "ASSERTION_INVALID"


async def test_reg_4_an_email_bound_to_an_account_cannot_register_another(
    identity: IdentityApp,
) -> None:
    assert (await identity.register_email("jo@example.com")).status_code == 201
    again = await identity.register_email("JO@example.com")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "LOGIN_METHOD_QUOTA_EXCEEDED"


async def test_reg_4_two_parallel_registrations_with_one_email_give_one_account(
    identity: IdentityApp,
) -> None:
    """LM-2 quota of 1 under concurrency: the database decides, not a read-then-write race."""
    ctx = without_codes(identity.ctx)

    async def attempt() -> object:
        request = Registration(
            method=LoginMethodKind.EMAIL,
            phone=new_phone(),
            phone_code="000000",
            email="twin@example.com",
            password=PASSWORD,
            email_code="000000",
        )
        try:
            return await register(ctx, request)
        except Exception as exc:
            return exc

    results = await asyncio.gather(*(attempt() for _ in range(2)))
    assert sum(isinstance(r, Registered) for r in results) == 1
    assert sum(isinstance(r, QuotaExceeded) for r in results) == 1


async def test_sec_1_one_phone_guards_at_most_five_accounts_even_in_parallel(
    identity: IdentityApp,
) -> None:
    """SEC-1 / REG-3: 8 parallel registrations with one secure phone give exactly 5."""
    ctx = without_codes(identity.ctx)
    phone = new_phone()

    async def attempt(i: int) -> object:
        request = Registration(
            method=LoginMethodKind.EMAIL,
            phone=phone,
            phone_code="000000",
            email=f"multi{i}@example.com",
            password=PASSWORD,
            email_code="000000",
        )
        try:
            return await register(ctx, request)
        except Exception as exc:
            return exc

    results = await asyncio.gather(*(attempt(i) for i in range(8)))
    assert sum(isinstance(r, Registered) for r in results) == 5
    assert sum(isinstance(r, SecurePhoneQuotaExceeded) for r in results) == 3


async def test_code_3_the_code_travels_only_in_the_delivery_request(identity: IdentityApp) -> None:
    """CODE-3: the reply says where and how long, never the code; only a hash is in Redis."""
    reply = await identity.send_code("register", "email", "kim@example.com")
    assert reply.status_code == 202
    assert reply.json() == {"sent_to": "k***@example.com", "channel": "email", "expires_in_s": 300}
    code = await identity.code("kim@example.com", "register")
    assert code not in reply.text
    requests = await identity.events("notifier.requests")
    assert any(isinstance(e.payload, NotificationRequested) for e in requests)
    for event in await identity.events():
        assert code not in event.model_dump_json()
    keys = [
        k async for k in identity.ctx.runtime.redis.scan_iter(match=f"{identity.scope.prefix}*")
    ]
    for key in keys:
        assert b"kim@example.com" not in key
        if await identity.ctx.runtime.redis.type(key) == b"hash":
            values = await identity.ctx.runtime.redis.hvals(key)  # type: ignore[misc]
            assert all(code.encode() not in v for v in values)


@pytest.mark.identity_settings(code_per_minute=1)
async def test_code_2_sending_is_rate_limited_per_destination(identity: IdentityApp) -> None:
    """CODE-2 over HTTP: the second code within the minute is refused with retry_after_s."""
    assert (await identity.send_code("register", "sms", "+8613800000001")).status_code == 202
    again = await identity.send_code("register", "sms", "+8613800000001")
    assert again.status_code == 429
    assert again.json()["error"]["code"] == "CODE_RATE_LIMITED"
    assert again.json()["error"]["details"]["retry_after_s"] > 0


async def test_sec_5_phones_are_stored_in_e164(identity: IdentityApp) -> None:
    reply = await identity.register_email("lee@example.com", phone="139 0000 7777")
    assert reply.status_code == 201, reply.text
    auth = await identity.token("lee@example.com")
    settings = (await identity.client.get("/v1/me/settings", headers=auth)).json()
    assert settings["secure_phone"] == "+8613900007777"


async def test_acc_4_accounts_of_different_methods_are_independent(identity: IdentityApp) -> None:
    """ACC-4: a QQ account and a WeChat account of one person are two accounts, never merged."""
    phone = new_phone()
    qq = await identity.register_third_party("qq", phone=phone, openid="acc4-qq")
    wechat = await identity.register_third_party("wechat", phone=phone, unionid="acc4-union")
    assert qq.status_code == wechat.status_code == 201
    assert qq.json()["account_id"] != wechat.json()["account_id"]


async def test_pwd_4_only_an_argon2id_hash_is_stored_and_no_event_carries_the_password(
    identity: IdentityApp,
) -> None:
    """PWD-4: memory-hard hash with the configured parameters; never in an event."""
    reply = await identity.register_email("max@example.com")
    account_id = int(reply.json()["account_id"])
    settings = identity.ctx.settings
    db = await asyncpg.connect(f"{identity.scope.infra.postgres_dsn}/{settings.database_name}")
    try:
        stored = await db.fetchval(
            "SELECT password_hash FROM accounts WHERE account_id = $1", account_id
        )
    finally:
        await db.close()
    assert stored.startswith(f"$argon2id$v=19$m={settings.argon2_memory_kib},t=1,p=1$")
    assert PASSWORD not in stored
    for topic in ("identity.events", "identity.contacts", "notifier.requests"):
        for event in await identity.events(topic):
            assert PASSWORD not in event.model_dump_json()
