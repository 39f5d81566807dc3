"""Retention: sent outbox rows and inbox rows past their age are pruned in small batches while
the relay publishes and the consumers consume; newer rows, unsent rows and parked rows stay."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from devkit.testing.infra import Scope
from devkit.testing.kafka import publish, read_all
from devkit.testing.services import running
from devkit.testing.waiting import eventually
from services.verification.main import spec
from services.verification.settings import VerificationSettings
from shared.events import AccountRegistered, Envelope, LoginMethodKind, new_envelope
from shared.retention import Pruned, RetentionPruner
from shared.runtime import Runtime

pytestmark = pytest.mark.integration

OLD = 2000  # rows past retention of each kind: 40 batches of 50


def registered(account_id: str) -> Envelope[Any]:
    return new_envelope(
        AccountRegistered(registered_at=datetime.now(UTC), method=LoginMethodKind.QQ),
        producer="identity",
        account_id=account_id,
    )


async def seed(db: asyncpg.Connection) -> None:
    """Old and recent rows, as the relay and the consumers leave them."""
    await db.execute(
        """INSERT INTO outbox (event_id, topic, key, value, headers, created_at, sent_at)
        SELECT gen_random_uuid(), 'x', 'k', 'v', '{}',
               now() - interval '3 days' + s * interval '1 ms',
               now() - interval '2 days' + s * interval '1 ms'
        FROM generate_series(1, $1) s""",
        OLD,
    )
    await db.execute(
        """INSERT INTO outbox (event_id, topic, key, value, headers, sent_at)
        VALUES (gen_random_uuid(), 'x', 'recent', 'v', '{}', now() - interval '1 minute')"""
    )
    await db.execute(
        """INSERT INTO inbox (consumer, event_id, processed_at)
        SELECT 'old-consumer', gen_random_uuid(), now() - interval '2 days' + s * interval '1 ms'
        FROM generate_series(1, $1) s""",
        OLD,
    )
    await db.execute(
        """INSERT INTO inbox (consumer, event_id, processed_at)
        VALUES ('recent-consumer', gen_random_uuid(), now() - interval '1 minute')"""
    )
    await db.execute(
        """INSERT INTO outbox_parked (id, event_id, topic, key, value, headers, created_at,
                                      parked_at, reason, error)
        VALUES (-1, gen_random_uuid(), 'x', 'k', 'v', '{}', now() - interval '30 days',
                now() - interval '30 days', 'message_too_large', 'e')"""
    )


async def test_old_outbox_and_inbox_rows_are_pruned_while_the_relay_and_consumers_run(
    scope: Scope,
) -> None:
    settings = scope.settings(
        VerificationSettings,
        outbox_retention_s=3600,
        inbox_retention_s=3600,
        retention_batch_size=50,
        retention_interval_s=3600,  # one pass at start; the test runs the next ones itself
    )
    # The database and its tables exist once the service has started once.
    async with running(spec(settings)):
        pass
    db = await asyncpg.connect(f"{scope.infra.postgres_dsn}/{settings.database_name}")
    try:
        await seed(db)
        async with running(spec(settings)) as (app, _):
            runtime: Runtime = app.state.runtime
            # Events flow through the relay and the consumer while the start-up pass prunes.
            emitted = [registered(f"90000000{n:04d}") for n in range(20)]
            for envelope in emitted:
                async with runtime.uow() as uow:
                    await uow.emit("verification.events", envelope)
            consumed = [registered(f"91000000{n:04d}") for n in range(20)]
            for envelope in consumed:
                await publish(
                    settings.kafka_bootstrap_servers, scope.topic("identity.events"), envelope
                )

            async def pruned() -> bool:
                old_outbox: int = await db.fetchval(
                    "SELECT count(*) FROM outbox WHERE sent_at < now() - interval '1 hour'"
                )
                old_inbox: int = await db.fetchval(
                    "SELECT count(*) FROM inbox WHERE processed_at < now() - interval '1 hour'"
                )
                return old_outbox == 0 and old_inbox == 0

            await eventually(pruned, what="every row past retention deleted")

            async def relayed() -> bool:
                records = await read_all(
                    settings.kafka_bootstrap_servers, scope.topic("verification.events")
                )
                ids = {json.loads(r.value)["event_id"] for r in records if r.value}
                return ids >= {str(e.event_id) for e in emitted}

            async def projected() -> bool:
                count: int = await db.fetchval(
                    "SELECT count(*) FROM accounts WHERE account_id LIKE '91%'"
                )
                return count == len(consumed)

            await eventually(relayed, what="the relay published every new event")
            await eventually(projected, what="the consumer projected every new event")
            assert await pruner_pass(runtime) == Pruned(outbox=0, inbox=0, batches=2)
            # 120 more old rows take three transactions of at most 50 (then one for the inbox).
            await db.execute(
                """INSERT INTO outbox (event_id, topic, key, value, headers, sent_at)
                SELECT gen_random_uuid(), 'x', 'k', 'v', '{}', now() - interval '2 days'
                FROM generate_series(1, 120)"""
            )
            assert await pruner_pass(runtime) == Pruned(outbox=120, inbox=0, batches=4)

        # Recent rows stay: the new outbox rows (sent a moment ago), the recent seeds, the
        # inbox claims of the events just consumed, and the parked row (never pruned).
        assert await db.fetchval("SELECT count(*) FROM outbox WHERE key = 'recent'") == 1
        assert await db.fetchval(
            "SELECT count(*) FROM outbox WHERE event_id = ANY($1::uuid[])",
            [e.event_id for e in emitted],
        ) == len(emitted)
        assert (
            await db.fetchval("SELECT count(*) FROM inbox WHERE consumer = 'recent-consumer'") == 1
        )
        assert await db.fetchval(
            "SELECT count(*) FROM inbox WHERE event_id = ANY($1::uuid[])",
            [e.event_id for e in consumed],
        ) == len(consumed)
        assert await db.fetchval("SELECT count(*) FROM outbox_parked") == 1
    finally:
        await db.close()


async def pruner_pass(runtime: Runtime) -> Pruned:
    s = runtime.settings
    pruner = RetentionPruner(
        runtime.engine,
        outbox_retention_s=s.outbox_retention_s,
        inbox_retention_s=s.inbox_retention_s,
        batch_size=s.retention_batch_size,
        interval_s=s.retention_interval_s,
    )
    return await pruner.prune()
