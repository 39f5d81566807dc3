"""Identity over real PostgreSQL and the real broker: the outbox publishes what commits."""

from __future__ import annotations

import asyncpg
import pytest
from aiokafka import ConsumerRecord

from services.identity.main import spec
from services.identity.settings import IdentitySettings
from shared.events import REGISTRY, AccountContacts, AccountRegistered, decode
from shared.testing.infra import Scope
from shared.testing.kafka import read_all
from shared.testing.services import running
from shared.testing.waiting import eventually

pytestmark = pytest.mark.integration


async def test_acc_1_registration_commits_the_account_and_publishes_its_events_once(
    scope: Scope, pg: asyncpg.Connection
) -> None:
    """ACC-1: a numeric, unique account ID at registration; the outbox publishes
    AccountRegistered (and the contacts record) exactly once, keyed by account."""
    settings = scope.settings(IdentitySettings)
    async with running(spec(settings)) as (_, client):
        first = await client.post("/v1/accounts", json={"email": "ann@example.com"})
        second = await client.post("/v1/accounts", json={"email": "ben@example.com"})
        assert first.status_code == second.status_code == 201
        ids = [first.json()["account_id"], second.json()["account_id"]]
        assert all(i.isdigit() for i in ids) and ids[0] != ids[1]

        async def published() -> list[ConsumerRecord[bytes, bytes]]:
            records = await read_all(scope.infra.kafka, scope.topic("identity.events"))
            return records if len(records) >= 2 else []

        records = await eventually(published, what="two AccountRegistered on the topic")
        events = [decode(r.value, REGISTRY) for r in records]
        assert sorted(e.account_id for e in events) == sorted(ids)
        assert all(isinstance(e.payload, AccountRegistered) for e in events)
        assert all(r.key == e.account_id.encode() for r, e in zip(records, events, strict=True))
        assert {e.payload.email_masked for e in events} == {"a***@example.com", "b***@example.com"}

        contacts = await read_all(scope.infra.kafka, scope.topic("identity.contacts"))
        assert {decode(r.value, REGISTRY).payload for r in contacts} >= {
            AccountContacts(contact_email="ann@example.com"),
        }
        db = await asyncpg.connect(f"{scope.infra.postgres_dsn}/{settings.database_name}")
        try:
            assert await db.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0
        finally:
            await db.close()


async def test_a_refused_registration_publishes_nothing(scope: Scope) -> None:
    """The state change and its events commit together: a rollback leaves no event."""
    settings = scope.settings(IdentitySettings)
    async with running(spec(settings)) as (_, client):
        first = await client.post("/v1/accounts", json={"email": "cy@example.com"})
        assert first.status_code == 201
        again = await client.post("/v1/accounts", json={"email": "CY@example.com"})
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "EMAIL_ALREADY_REGISTERED"
        bad = await client.post("/v1/accounts", json={"email": "nope"})
        assert bad.status_code == 400
        assert bad.json()["error"] == {
            "code": "EMAIL_INVALID",
            "message": bad.json()["error"]["message"],
            "details": {"field": "email"},
        }
        db = await asyncpg.connect(f"{scope.infra.postgres_dsn}/{settings.database_name}")
        try:
            assert await db.fetchval("SELECT count(*) FROM outbox") == 2  # contacts + registered
            assert await db.fetchval("SELECT count(*) FROM accounts") == 1
        finally:
            await db.close()
