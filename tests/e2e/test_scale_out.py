"""Scale-out: two identity and two notifier processes against one broker, database and Redis.

Accounts are registered through both identity instances at once. One relay per service leads
(and another takes over when the leader is killed), no event is lost or published twice,
every code and welcome message reaches its person once, and the Redis quotas (CODE-2 codes
per destination, LOGIN-4 attempts before the lock) stay exact across instances.
"""

from __future__ import annotations

import asyncio
import json
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from devkit.mailsink import MailSink, ReceivedMail
from devkit.smssink import ReceivedSms, SmsSink
from devkit.testing.accounts import UNLIMITED_CODES, captcha_ticket, register_by_email
from devkit.testing.infra import Scope
from devkit.testing.kafka import read_all
from devkit.testing.services import ServiceProcess
from devkit.testing.waiting import eventually
from shared.events import REGISTRY, AccountLocked, AccountRegistered, Envelope, decode

pytestmark = pytest.mark.e2e

ACCOUNTS = 6
WELCOME = "Welcome to Account Center"


def leads(process: ServiceProcess) -> int:
    """How many times this process became its service's relay leader (its log says so)."""
    return process.log_path.read_text(errors="replace").count("outbox_relay_leader")


async def relay_lock_holders(scope: Scope, service: str) -> int:
    key = zlib.crc32(f"outbox:{service}".encode())
    conn = await asyncpg.connect(f"{scope.infra.postgres_dsn}/{scope.prefix}{service}")
    try:
        holders: int = await conn.fetchval(
            """SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
            WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()
              AND l.classid = 0 AND l.objid = $1::bigint::oid AND l.objsubid = 1""",
            key,
        )
        return holders
    finally:
        await conn.close()


async def events(scope: Scope, topic: str) -> list[Envelope[Any]]:
    records = await read_all(scope.infra.kafka, scope.topic(topic))
    return [decode(r.value, REGISTRY) for r in records if r.value is not None]


async def test_two_identities_and_two_notifiers_share_the_work_exactly_once(
    scope: Scope, sink: MailSink, sms: SmsSink, tmp_path: Path
) -> None:
    env = scope.env(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=sink.port,
        SMS_API_URL=sms.url,
        ARGON2_TIME_COST=1,
        ARGON2_MEMORY_KIB=1024,
        DEV_MODE="true",  # the dev captcha route
        LOGIN_CAPTCHA_AFTER=1000,
        **{k: v for k, v in UNLIMITED_CODES.items() if k != "code_per_minute"},
    )
    identities = [ServiceProcess("identity", env, tmp_path) for _ in range(2)]
    notifiers = [ServiceProcess("notifier", env, tmp_path) for _ in range(2)]
    # One instance first: the database, migrations and topics exist before the others race.
    identities[0].start().wait_ready()
    for process in (identities[1], *notifiers):
        process.start()
    try:
        for process in (identities[1], *notifiers):
            process.wait_ready()
        clients = [httpx.AsyncClient(base_url=p.url, timeout=30) for p in identities]
        try:
            await scenario(scope, sink, sms, identities, notifiers, clients)
        finally:
            for client in clients:
                await client.aclose()
    finally:
        for process in (*identities, *notifiers):
            process.stop()


async def scenario(
    scope: Scope,
    sink: MailSink,
    sms: SmsSink,
    identities: list[ServiceProcess],
    notifiers: list[ServiceProcess],
    clients: list[httpx.AsyncClient],
) -> None:
    people = [(f"scale{i}@example.com", f"+86139000{i:05d}") for i in range(ACCOUNTS)]

    async def register(i: int) -> str:
        email, phone = people[i]
        reply = await register_by_email(
            clients[i % 2],  # alternate instances
            kafka=scope.infra.kafka,
            topic_prefix=scope.prefix,
            email=email,
            phone=phone,
            language="en",
        )
        assert reply.status_code == 201, reply.text
        return str(reply.json()["account_id"])

    account_ids = await asyncio.gather(*(register(i) for i in range(ACCOUNTS)))
    assert len(set(account_ids)) == ACCOUNTS

    # One relay leader per service, the same one all along.
    assert sorted(leads(p) for p in identities) == [0, 1]
    assert sorted(leads(p) for p in notifiers) == [0, 1]
    assert await relay_lock_holders(scope, "identity") == 1
    assert await relay_lock_holders(scope, "notifier") == 1

    # Each person got one code by SMS, one code by email and one welcome email: once each,
    # counting every copy the SMTP server accepted, not what the sink kept.
    for email, phone in people:
        await asyncio.to_thread(sink.wait_for, welcome_to(email), 30.0)
        await asyncio.to_thread(sms.wait_for, sms_to(phone), 30.0)
    mails = Counter((m.rcpt_to[0], m.subject) for m in sink.every_copy())
    for email, _ in people:
        assert mails[(email, WELCOME)] == 1
        assert sum(n for (to, _), n in mails.items() if to == email) == 2  # code + welcome
    texts = Counter(m.phone_number for m in sms.snapshot())
    assert all(texts[phone] == 1 for _, phone in people)
    assert sms.stats()["duplicates"] == 0 and sms.stats()["requests"] == ACCOUNTS

    # No event lost or published twice: the topic holds each outbox row once.
    await assert_outbox_published_once(scope, "identity", "identity.events")
    registered = await events(scope, "identity.events")
    assert Counter(
        e.account_id for e in registered if isinstance(e.payload, AccountRegistered)
    ) == dict.fromkeys(account_ids, 1)
    await assert_outbox_published_once(scope, "identity", "notifier.requests")

    await quotas_stay_exact(scope, clients, people[0][0])
    await leadership_moves_when_the_leader_dies(scope, identities, clients)


def welcome_to(email: str) -> Callable[[ReceivedMail], bool]:
    return lambda mail: email in mail.rcpt_to and mail.subject == WELCOME


def sms_to(phone: str) -> Callable[[ReceivedSms], bool]:
    return lambda text: text.phone_number == phone


async def assert_outbox_published_once(scope: Scope, service: str, topic: str) -> None:
    conn = await asyncpg.connect(f"{scope.infra.postgres_dsn}/{scope.prefix}{service}")
    try:

        async def drained() -> bool:
            unsent: int = await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
            return unsent == 0

        await eventually(drained, what=f"{service}'s outbox drained")
        rows = await conn.fetch(
            "SELECT event_id::text FROM outbox WHERE topic = $1", scope.topic(topic)
        )
    finally:
        await conn.close()
    records = await read_all(scope.infra.kafka, scope.topic(topic))
    on_topic = Counter(json.loads(r.value)["event_id"] for r in records if r.value is not None)
    assert on_topic == dict.fromkeys((r["event_id"] for r in rows), 1)


async def quotas_stay_exact(scope: Scope, clients: list[httpx.AsyncClient], email: str) -> None:
    """CODE-2 and LOGIN-4 count in Redis: parallel requests split over both instances."""
    destination = "+8613900099999"
    tickets = [await captcha_ticket(clients[i % 2], destination) for i in range(6)]
    sent = await asyncio.gather(
        *(
            clients[i % 2].post(
                "/v1/codes",
                json={
                    "purpose": "register",
                    "channel": "sms",
                    "destination": destination,
                    "captcha_ticket": tickets[i],
                },
            )
            for i in range(6)
        )
    )
    statuses = Counter(r.status_code for r in sent)
    assert statuses == {202: 1, 429: 5}, [r.text for r in sent]

    attempts = await asyncio.gather(
        *(
            clients[i % 2].post(
                "/v1/sessions",
                json={"method": "password", "email": email, "password": "Wrong1!pass"},
            )
            for i in range(30)
        )
    )
    codes = Counter(r.json()["error"]["code"] for r in attempts)
    assert codes == {"INVALID_CREDENTIALS": 10, "LOGIN_LOCKED": 20}

    async def one_lock() -> list[Envelope[Any]]:
        return [
            e
            for e in await events(scope, "identity.events")
            if isinstance(e.payload, AccountLocked)
        ]

    locks = await eventually(one_lock, what="AccountLocked")
    assert len(locks) == 1 and locks[0].payload.failures == 10


async def leadership_moves_when_the_leader_dies(
    scope: Scope, identities: list[ServiceProcess], clients: list[httpx.AsyncClient]
) -> None:
    # Everything published first: a leader killed mid-batch may republish (consumers
    # deduplicate), which would blur the count below.
    await assert_outbox_published_once(scope, "identity", "identity.events")
    leader = next(i for i, p in enumerate(identities) if leads(p) == 1)
    survivor = 1 - leader
    identities[leader].kill()

    async def took_over() -> bool:
        return leads(identities[survivor]) == 1

    await eventually(took_over, what="the surviving identity leads its relay")
    reply = await register_by_email(
        clients[survivor],
        kafka=scope.infra.kafka,
        topic_prefix=scope.prefix,
        email="after-failover@example.com",
        phone="+8613900088888",
    )
    assert reply.status_code == 201, reply.text
    await assert_outbox_published_once(scope, "identity", "identity.events")
