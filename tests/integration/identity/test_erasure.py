"""CAN-7 / REG-5 in identity, on the real broker, PostgreSQL and Redis: a completed
cancellation erases everything identity holds of the person, confirms it once, and frees the
identifiers for a new account; another account that shares the phone keeps it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime
from typing import Any, cast

import asyncpg
import pytest
import sqlalchemy as sa

from devkit.testing.erasure_search import search_databases, search_redis
from devkit.testing.infra import Infra
from devkit.testing.kafka import group_lag, publish, read_all
from devkit.testing.waiting import eventually
from services.identity.adapters.tables import accounts, login_attempts, recovery_appeals
from services.identity.domain.erasure import KEPT, phone_forms
from services.identity.domain.errors import CodeExpired, LoginRefused
from services.identity.service_layer import flows, login
from services.identity.service_layer.login import Client
from shared.events import (
    AccountStatus,
    AccountStatusChanged,
    CancellationCompleted,
    CancellationRequested,
    Envelope,
    IdentityDataErased,
    Topic,
    new_envelope,
)
from tests.integration.identity.conftest import IdentityApp, identity_app, new_phone
from tests.integration.identity.test_mfa import bind_mfa

pytestmark = pytest.mark.integration

TOKEN = "op-erasure-secret"
OPERATOR = {"authorization": f"Bearer {TOKEN}", "x-operator-id": "emp-7"}
NEW_PASSWORD = "N3w!Passw0rd"


@pytest.fixture(scope="module")
async def ident(infra: Infra) -> AsyncIterator[IdentityApp]:
    """One identity with an operator credential (appeals are decided) for the module."""
    async with identity_app(infra.scope(), operator_token=TOKEN) as app:
        yield app


def unique_email(name: str) -> str:
    return f"{name}.{uuid.uuid4().hex[:8]}@erasure.example"


def forms_of(*values: str) -> set[str]:
    """Every form a value could have been copied in: emails as typed and lower-cased, phones
    in E.164, without the plus and as national digits."""
    forms: set[str] = set()
    for value in values:
        if value.startswith("+"):
            forms |= phone_forms(value)
        else:
            forms |= {value, value.lower()}
    return forms


async def table_text(ident: IdentityApp) -> str:
    """Every row of every table of identity's database, all columns as text (bytes both
    decoded and hex-encoded)."""
    database = ident.ctx.settings.database_name
    conn = await asyncpg.connect(f"{ident.scope.infra.postgres_dsn}/{database}")
    try:
        tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        lines: list[str] = []
        for table in tables:
            for row in await conn.fetch(f'SELECT * FROM "{table["tablename"]}"'):
                lines.append(repr(dict(row)))
                for value in row.values():
                    if isinstance(value, bytes):
                        lines.append(value.decode("utf-8", "replace"))
                        lines.append(value.hex())
        return "\n".join(lines)
    finally:
        await conn.close()


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


async def redis_text(ident: IdentityApp) -> str:
    """Every key name and value under the run's prefix."""
    redis = ident.ctx.runtime.redis
    lines: list[str] = []
    async for key in redis.scan_iter(match=f"{ident.scope.prefix}*"):
        kind = _text(await redis.type(key))
        value: Any = kind
        if kind == "string":
            value = await redis.get(key)
        elif kind == "hash":
            value = await cast(Awaitable[Any], redis.hgetall(key))
        elif kind == "set":
            value = await cast(Awaitable[Any], redis.smembers(key))
        elif kind == "list":
            value = await cast(Awaitable[Any], redis.lrange(key, 0, -1))
        elif kind == "zset":
            value = await redis.zrange(key, 0, -1, withscores=True)
        lines.append(f"{_text(key)} = {value!r}")
    return "\n".join(lines)


def found(text: str, forms: set[str]) -> list[str]:
    return sorted(form for form in forms if form in text)


async def cancel(ident: IdentityApp, account_id: str) -> Envelope[CancellationCompleted]:
    """As the cancellation service does: requested (frozen), then completed; returns the
    completion, so a test can deliver it again."""
    now = datetime.now(UTC)
    topic = ident.scope.topic(Topic.CANCELLATION_EVENTS)
    requested = CancellationRequested(
        application_id="app-erase", requested_at=now, cooling_off_ends_at=now
    )
    await publish(
        ident.kafka, topic, new_envelope(requested, producer="cancellation", account_id=account_id)
    )
    completed = new_envelope(
        CancellationCompleted(application_id="app-erase", completed_at=now),
        producer="cancellation",
        account_id=account_id,
    )
    await publish(ident.kafka, topic, completed)
    return completed


async def erased_events(ident: IdentityApp, account_id: str) -> list[Envelope[Any]]:
    return [
        e
        for e in await ident.events()
        if e.account_id == account_id and isinstance(e.payload, IdentityDataErased)
    ]


async def settled(ident: IdentityApp) -> None:
    """Every cancellation event published so far was consumed (and committed)."""
    settings = ident.ctx.settings
    group = f"{settings.consumer_group}.{Topic.CANCELLATION_EVENTS}"
    topic = ident.scope.topic(Topic.CANCELLATION_EVENTS)

    async def no_lag() -> bool:
        return await group_lag(ident.kafka, group, topic) == 0

    await eventually(no_lag, what="cancellation.events consumed")


async def bind_everything(ident: IdentityApp, email: str, phone: str) -> dict[str, Any]:
    """An account that has bound everything identity offers: email and secure phone, WeChat
    and QQ, a nickname, contact channels, MFA, a trusted device, sessions, login history
    (with an address), a password lock's counters, a decided and a pending recovery appeal
    (one decision quoting the phone), and live codes to its destinations."""
    registered = await ident.register_email(email, phone=phone)
    assert registered.status_code == 201, registered.text
    account_id = str(registered.json()["account_id"])
    auth = await ident.token(email)
    unionid, openid = f"union-{uuid.uuid4().hex[:10]}", f"qq-{uuid.uuid4().hex[:10]}"
    for kind, claims in (("wechat", {"unionid": unionid}), ("qq", {"openid": openid})):
        bound = await ident.client.post(
            "/v1/me/login-methods",
            json={
                "kind": kind,
                "assertion": await ident.assertion(kind, **claims),
                "verification": await ident.proof(auth),
            },
            headers=auth,
        )
        assert bound.status_code == 201, bound.text
    contact = unique_email("contact")
    assert (await ident.send_code("contact_email", "email", contact)).status_code == 202
    profile = await ident.client.patch(
        "/v1/me/settings",
        json={
            "nickname": f"Alice {phone}",
            "contact_email": contact,
            "contact_email_code": await ident.code(contact, "contact_email"),
        },
        headers=auth,
    )
    assert profile.status_code == 200, profile.text
    await bind_mfa(ident, auth)
    protected = await ident.client.put(
        "/v1/me/protection", json={"login_protection": True}, headers=auth
    )
    assert protected.status_code == 200, protected.text
    flow = (await ident.login(email, device_id=f"phone of {email}")).json()["flow"]
    sent = await ident.client.post(f"/v1/flows/{flow['id']}/codes", json={"channel": "sms"})
    assert sent.status_code == 202, sent.text
    done = await ident.client.post(
        f"/v1/flows/{flow['id']}/complete",
        json={
            "factor": "sms",
            "code": await ident.code(phone, "second_factor"),
            "trust_device": True,
        },
    )
    assert done.status_code == 200, done.text
    wrong = await ident.login(email, "Wr0ng!password")
    assert wrong.status_code == 401, wrong.text  # a failure: the lockout's counters
    appeals = [unique_email("appeal"), unique_email("appeal")]
    first = await appeal(ident, account_id, appeals[0], statement=f"My phone is {phone}.")
    rejected = await ident.client.post(
        f"/v1/operator/appeals/{first}/reject",
        json={"reason": f"{phone} is not the number we know"},
        headers=OPERATOR,
    )
    assert rejected.status_code == 200, rejected.text
    await appeal(ident, account_id, appeals[1], statement=f"Write to {email}.")
    # Live codes to the account's email and phone (anonymous register codes).
    assert (await ident.send_code("register", "email", email)).status_code == 202
    assert (await ident.send_code("register", "sms", phone)).status_code == 202
    return {
        "account_id": account_id,
        "auth": auth,
        "unionid": unionid,
        "openid": openid,
        "values": [email, phone, contact, *appeals, unionid, openid],
        "email_code": await ident.code(email, "register"),
        "phone_code": await ident.code(phone, "register"),
    }


async def appeal(ident: IdentityApp, account_id: str, email: str, *, statement: str) -> str:
    """REC-2: a code to the new email, then the appeal; returns its id."""
    assert (await ident.send_code("appeal_email", "email", email)).status_code == 202
    reply = await ident.client.post(
        "/v1/recovery/appeals",
        json={
            "account_id": account_id,
            "email": email,
            "email_code": await ident.code(email, "appeal_email"),
            "password": NEW_PASSWORD,
            "reset_mfa": True,
            "statement": statement,
        },
    )
    assert reply.status_code == 202, reply.text
    listed = await ident.client.get("/v1/operator/appeals", headers=OPERATOR)
    (mine,) = [a for a in listed.json()["appeals"] if a["account_id"] == account_id]
    return str(mine["appeal_id"])


async def test_can_7_reg_5_cancellation_erases_the_person_everywhere_confirmed_once(
    ident: IdentityApp,
) -> None:
    """CAN-7: after CancellationCompleted no table of identity's database and no Redis key
    (name or value) holds the account's emails, phone (E.164 and national digits) or
    third-party identifiers; sessions end, the account row stays `cancelled` with its id;
    IdentityDataErased is emitted once even when the completion is delivered twice; REG-5:
    the same email, phone and WeChat register a new account."""
    email, phone = unique_email("Alice"), new_phone()
    person = await bind_everything(ident, email, phone)
    account_id = person["account_id"]
    forms = forms_of(*person["values"])
    before = await table_text(ident)
    assert found(before, forms), "the search finds the values before the erasure"

    completed = await cancel(ident, account_id)
    (event,) = await eventually(lambda: erased_events(ident, account_id), what="IdentityDataErased")
    await publish(ident.kafka, ident.scope.topic(Topic.CANCELLATION_EVENTS), completed)
    await settled(ident)

    assert len(await erased_events(ident, account_id)) == 1, "confirmed exactly once"
    payload = event.payload
    assert (payload.service, payload.application_id) == ("identity", "app-erase")
    assert payload.kept == KEPT
    after = await table_text(ident)
    assert found(after, forms) == [], [
        line[:300] for line in after.splitlines() if found(line, forms)
    ]
    redis = await redis_text(ident)
    assert found(redis, forms) == []
    infra, prefix, needles = ident.scope.infra, ident.scope.prefix, sorted(forms)
    assert await search_databases(infra.postgres_dsn, prefix, needles) == []  # the lead's search
    assert await search_redis(infra.redis_url, prefix, needles) == []
    left = [line for line in redis.splitlines() if f"{{{account_id}}}" in line]
    assert [line.split(" = ")[0] for line in left] == [  # no session, TOTP window, lock notice
        f"{ident.scope.prefix}session:{{{account_id}}}:closed"  # only: no new session opens
    ]
    for destination, code in ((email.lower(), "email_code"), (phone, "phone_code")):
        with pytest.raises(CodeExpired):  # the live codes are gone
            await ident.ctx.codes.verify("register", destination, person[code])

    assert (await ident.client.get("/v1/me", headers=person["auth"])).status_code == 401
    assert (await ident.login(email)).json()["error"]["code"] == "INVALID_CREDENTIALS"
    async with ident.ctx.runtime.engine.connect() as conn:
        row = (
            await conn.execute(sa.select(accounts).where(accounts.c.account_id == int(account_id)))
        ).one()
        history = (
            await conn.execute(
                sa.select(login_attempts).where(login_attempts.c.account_id == int(account_id))
            )
        ).all()
        appeals = (
            await conn.execute(
                sa.select(recovery_appeals).where(recovery_appeals.c.account_id == int(account_id))
            )
        ).all()
    assert row.status == "cancelled" and row.erased_at is not None
    assert (row.nickname, row.password_hash, row.contact_email) == (None, None, None)
    assert history and all(h.ip is None and h.device_id is None for h in history)
    assert sorted(a.status for a in appeals) == ["rejected", "rejected"]  # the audit stays
    statuses = [
        e.payload.status
        for e in await ident.events()
        if e.account_id == account_id and isinstance(e.payload, AccountStatusChanged)
    ]
    assert statuses[-1] is AccountStatus.CANCELLED

    # REG-5: the identifiers are free again; the account id is never reused.
    again = await ident.register_email(email, phone=phone)
    assert again.status_code == 201, again.text
    assert again.json()["account_id"] != account_id
    wechat = await ident.register_third_party("wechat", unionid=person["unionid"])
    assert wechat.status_code == 201, wechat.text


async def test_can_7_another_account_sharing_the_phone_keeps_it_and_its_live_code(
    ident: IdentityApp,
) -> None:
    """CAN-7: the phone is released from the cancelled account only; the account that shares
    it keeps it as its secure phone, and a code sent to it for that account still works."""
    phone = new_phone()
    leaving, staying = unique_email("leaving"), unique_email("staying")
    first = await ident.register_email(leaving, phone=phone)
    second = await ident.register_email(staying, phone=phone)
    assert first.status_code == second.status_code == 201
    leaving_id = str(first.json()["account_id"])
    auth = await ident.token(staying)
    proof = await ident.proof(auth)  # a live verify_identity code to the shared phone

    await cancel(ident, leaving_id)
    await eventually(lambda: erased_events(ident, leaving_id), what="IdentityDataErased")

    settings = (await ident.client.get("/v1/me/settings", headers=auth)).json()
    assert settings["secure_phone"] == phone
    await ident.ctx.codes.verify("verify_identity", phone, proof["code"])  # still live
    recovered = await ident.send_code("find_accounts", "sms", phone)
    assert recovered.status_code == 202
    listed = await ident.client.post(
        "/v1/recovery/accounts",
        json={"phone": phone, "code": await ident.code(phone, "find_accounts")},
    )
    assert [a["account_id"][-4:] for a in listed.json()["accounts"]] == [
        str(second.json()["account_id"])[-4:]
    ]


async def test_can_7_a_login_in_flight_during_the_erasure_opens_no_session_and_leaves_no_address(
    ident: IdentityApp,
) -> None:
    """CAN-7: a login that read the account (and checked its password) just before the
    erasure reaches its recording and its session after it: it is refused, records no
    address or device, and no session opens (the erasure closed the account for good)."""
    email = unique_email("inflight")
    registered = await ident.register_email(email)
    account_id = str(registered.json()["account_id"])
    async with ident.ctx.runtime.engine.connect() as conn:
        stale = await ident.ctx.repo.get_account(conn, int(account_id))  # read before

    await cancel(ident, account_id)
    await eventually(lambda: erased_events(ident, account_id), what="IdentityDataErased")

    device = await flows.check_device(ident.ctx, int(account_id), None)
    client = Client(device_id="late laptop", ip="203.0.113.77")
    with pytest.raises(LoginRefused):
        await login._log_in(ident.ctx, stale, "password", client, login.Success(device), ("pwd",))
    with pytest.raises(LoginRefused):
        await ident.ctx.sessions.open(account_id, datetime.now(UTC), amr=("pwd",))
    # A failure is still recorded, without where it came from.
    await login.record_failure(ident.ctx, stale, "password", client, "INVALID_CREDENTIALS")
    async with ident.ctx.runtime.engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(login_attempts.c.ip, login_attempts.c.device_id).where(
                    login_attempts.c.account_id == int(account_id)
                )
            )
        ).all()
    assert rows and all(tuple(r) == (None, None) for r in rows)
    pattern = f"{ident.scope.prefix}session:{{{account_id}}}:*"
    keys = [_text(k) async for k in ident.ctx.runtime.redis.scan_iter(match=pattern)]
    assert keys == [pattern.replace("*", "closed")]


async def test_can_7_a_completion_claiming_another_producer_erases_nothing(
    ident: IdentityApp,
) -> None:
    """CAN-7, ARCHITECTURE "Events" (topics by owner): identity believes cancellation.events
    only from cancellation; a CancellationCompleted that claims any other producer goes to the
    dead-letter topic as `untrusted_producer`, and the account keeps everything."""
    email = unique_email("forged")
    registered = await ident.register_email(email, phone=new_phone())
    account_id = str(registered.json()["account_id"])
    topic = ident.scope.topic(Topic.CANCELLATION_EVENTS)
    forged = new_envelope(
        CancellationCompleted(application_id="app-forged", completed_at=datetime.now(UTC)),
        producer="identity",
        account_id=account_id,
    )
    await publish(ident.kafka, topic, forged)

    async def dead_lettered() -> list[Any]:
        records = await read_all(ident.kafka, f"{topic}.dlq")
        return [
            r
            for r in records
            if dict(r.headers).get("dlq.reason") == b"untrusted_producer"
            and str(forged.event_id).encode() in (r.value or b"")
        ]

    await eventually(dead_lettered, what="the forged completion dead-lettered")
    assert await erased_events(ident, account_id) == []
    assert (await ident.login(email)).status_code == 201  # not cancelled, not erased
