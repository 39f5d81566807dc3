"""Identity over real PostgreSQL and the real broker: the outbox publishes what commits."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from aiokafka import ConsumerRecord

from devkit.testing.accounts import UNLIMITED_CODES, register_by_email
from devkit.testing.infra import Scope
from devkit.testing.kafka import read_all
from devkit.testing.services import running
from devkit.testing.waiting import eventually
from services.identity.main import spec
from services.identity.settings import IdentitySettings
from shared.events import REGISTRY, AccountRegistered, Envelope, decode

pytestmark = pytest.mark.integration


def settings_for(scope: Scope) -> IdentitySettings:
    return scope.settings(
        IdentitySettings,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        dev_mode=True,  # the dev captcha route: /v1/codes needs a solved captcha
        **UNLIMITED_CODES,
    )


async def test_acc_1_registration_commits_the_account_and_publishes_its_event_once(
    scope: Scope,
) -> None:
    """ACC-1 + outbox: AccountRegistered is published exactly once per account, keyed by it,
    and every outbox row ends up sent."""
    settings = settings_for(scope)
    async with running(spec(settings)) as (_, client):
        ids = []
        for name, phone in (("ann", "+8613900000101"), ("ben", "+8613900000102")):
            reply = await register_by_email(
                client,
                kafka=scope.infra.kafka,
                topic_prefix=scope.prefix,
                email=f"{name}@example.com",
                phone=phone,
            )
            assert reply.status_code == 201, reply.text
            ids.append(reply.json()["account_id"])

        async def published() -> list[tuple[ConsumerRecord[bytes, bytes], Envelope[Any]]]:
            records = await read_all(scope.infra.kafka, scope.topic("identity.events"))
            registered = [
                (r, decode(r.value, REGISTRY))
                for r in records
                if decode(r.value, REGISTRY).type == AccountRegistered.event_type
            ]
            return registered if len(registered) >= 2 else []

        registered = await eventually(published, what="two AccountRegistered")
        assert sorted(e.account_id for _, e in registered) == sorted(ids)
        assert all(r.key == e.account_id.encode() for r, e in registered)
        db = await asyncpg.connect(f"{scope.infra.postgres_dsn}/{settings.database_name}")
        try:

            async def drained() -> bool:
                unsent = await db.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
                return bool(unsent == 0)

            await eventually(drained, what="the outbox drained")
        finally:
            await db.close()


async def test_a_refused_registration_publishes_nothing(scope: Scope) -> None:
    """The state change and its events commit together: a refusal leaves no event."""
    settings = settings_for(scope)
    async with running(spec(settings)) as (_, client):
        first = await register_by_email(
            client,
            kafka=scope.infra.kafka,
            topic_prefix=scope.prefix,
            email="cy@example.com",
            phone="+8613900000103",
        )
        assert first.status_code == 201
        again = await register_by_email(
            client,
            kafka=scope.infra.kafka,
            topic_prefix=scope.prefix,
            email="CY@example.com",
            phone="+8613900000104",
        )
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "LOGIN_METHOD_QUOTA_EXCEEDED"
        bad = await client.post(
            "/v1/codes", json={"purpose": "register", "channel": "email", "destination": "nope"}
        )
        assert bad.status_code == 400
        assert bad.json()["error"]["code"] == "EMAIL_INVALID"
        assert bad.json()["error"]["details"] == {"field": "destination"}
        db = await asyncpg.connect(f"{scope.infra.postgres_dsn}/{settings.database_name}")
        try:
            assert await db.fetchval("SELECT count(*) FROM accounts") == 1
            topics = await db.fetch("SELECT topic FROM outbox WHERE topic LIKE '%identity.events'")
            assert len(topics) == 1  # one AccountRegistered; the refused attempt left none
        finally:
            await db.close()
