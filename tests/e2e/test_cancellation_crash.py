"""The cancellation service as an OS process, killed with SIGKILL while its timer worker holds
the claim of a due cooling-off end and is in the middle of firing it, then restarted: every
application completes, and the topic holds exactly one CancellationCompleted for each
(CAN-7, ARCHITECTURE "Timers": due rows with a lease survive a kill -9)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from devkit.testing.facts import clear_standings, publish_fact
from devkit.testing.infra import Scope
from devkit.testing.kafka import publish, read_all
from devkit.testing.services import ServiceProcess
from devkit.testing.tokens import DevTokens, jwks_server
from devkit.testing.waiting import eventually
from shared.events import (
    REGISTRY,
    AccountRegistered,
    CancellationCompleted,
    Envelope,
    LoginMethodKind,
    decode,
    new_envelope,
)

pytestmark = pytest.mark.e2e

ACCOUNTS = 3
COOLING_OFF_S = 4  # long enough to apply for all and take the gate before any is due
LEASE_S = 2


async def cancellation_events(scope: Scope) -> list[Envelope[Any]]:
    records = await read_all(scope.infra.kafka, scope.topic("cancellation.events"))
    return [decode(r.value, REGISTRY) for r in records if r.value is not None]


async def lock_waiters(conn: asyncpg.Connection) -> int:
    found: int = await conn.fetchval(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    return found


async def test_can_7_killed_while_firing_a_due_cooling_off_end_it_completes_exactly_once(
    scope: Scope, tmp_path: Path
) -> None:
    """SIGKILL while the worker holds a claimed cooling-off end and its firing transaction
    (the timer ended `done`, the effect under way) waits on the application's row, which
    the test holds. The kill rolls that transaction back: the row is `claimed` again with a
    lease that runs out; the restarted process claims it anew and completes every
    application, each with exactly one CancellationCompleted on the topic."""
    tokens = DevTokens()
    accounts = [
        str(830_000_000_000 + int(datetime.now(UTC).timestamp()) % 10**6 * 10 + n)
        for n in range(ACCOUNTS)
    ]
    db = f"{scope.infra.postgres_dsn}/{scope.prefix}cancellation"
    with jwks_server(tokens) as jwks_url:
        env = scope.env(
            IDENTITY_JWKS_URL=jwks_url,
            COOLING_OFF_S=COOLING_OFF_S,
            TIMER_POLL_INTERVAL_S=0.05,
            TIMER_LEASE_S=LEASE_S,
        )
        first = ServiceProcess("cancellation", env, tmp_path).start()
        try:
            first.wait_ready()
            for account in accounts:
                registered = AccountRegistered(
                    registered_at=datetime.now(UTC), method=LoginMethodKind.EMAIL
                )
                await publish(
                    scope.infra.kafka,
                    scope.topic("identity.events"),
                    new_envelope(registered, producer="identity", account_id=account),
                )
                for fact in clear_standings(datetime.now(UTC)):
                    await publish_fact(scope, fact, account)
            async with httpx.AsyncClient(base_url=first.url, timeout=10) as client:
                for account in accounts:

                    async def may_apply(account: str = account) -> bool:
                        reply = await client.get(
                            "/v1/cancellation/preconditions", headers=tokens.headers(account)
                        )
                        return reply.status_code == 200 and bool(reply.json()["may_apply"])

                    await eventually(may_apply, what=f"{account} known and clear")
                applied = {}
                for account in accounts:
                    reply = await client.post(
                        "/v1/cancellation", headers=tokens.headers(account, step_up=True)
                    )
                    assert reply.status_code == 201, reply.text
                    applied[account] = reply.json()["application_id"]

            gate = await asyncpg.connect(db)
            watcher = await asyncpg.connect(db)
            try:
                # Hold every application's row: the worker's firing transaction will end its
                # timer, then wait for the row it must lock.
                gate_tx = gate.transaction()
                await gate_tx.start()
                held = await gate.fetch(
                    "SELECT application_id FROM applications "
                    "WHERE application_id = ANY($1::text[]) AND state = 'cooling_off' "
                    "FOR UPDATE",
                    list(applied.values()),
                )
                assert len(held) == ACCOUNTS, "an application ended before the gate"

                async def firing() -> bool:
                    return await lock_waiters(watcher) >= 1

                await eventually(firing, timeout_s=30, what="the worker firing, waiting")
                claimed_at_kill = await watcher.fetch(
                    "SELECT ref, state FROM timers WHERE kind = 'cooling_off_end'"
                )
            finally:
                first.kill()
            assert {r["state"] for r in claimed_at_kill} <= {"scheduled", "claimed"}
            assert "claimed" in {r["state"] for r in claimed_at_kill}
            await gate_tx.rollback()
            await gate.close()
            # The killed process's firing transaction never commits: nothing completed.
            states = await watcher.fetch("SELECT state, count(*) FROM applications GROUP BY state")
            assert {r["state"]: r["count"] for r in states} == {"cooling_off": ACCOUNTS}
            assert not [
                e
                for e in await cancellation_events(scope)
                if isinstance(e.payload, CancellationCompleted)
            ]
        finally:
            first.kill()

        second = ServiceProcess("cancellation", env, tmp_path).start()
        try:
            second.wait_ready()

            async def all_completed() -> bool:
                rows = await watcher.fetch(
                    "SELECT state, count(*) FROM applications GROUP BY state"
                )
                return {r["state"]: r["count"] for r in rows} == {"completed": ACCOUNTS}

            await eventually(all_completed, timeout_s=60, what="every application completed")

            async def every_completion_published() -> list[Envelope[Any]] | None:
                found = [
                    e
                    for e in await cancellation_events(scope)
                    if isinstance(e.payload, CancellationCompleted)
                ]
                return found if len(found) >= ACCOUNTS else None

            completions = await eventually(
                every_completion_published, what="the completions on cancellation.events"
            )
            timers = await watcher.fetch(
                "SELECT ref, state, attempts FROM timers WHERE kind = 'cooling_off_end'"
            )
        finally:
            second.stop()
            await watcher.close()
        assert len(completions) >= ACCOUNTS
        # Read again once the process stopped: a duplicate published late would show now.
        final = [
            e
            for e in await cancellation_events(scope)
            if isinstance(e.payload, CancellationCompleted)
        ]
        assert Counter(e.payload.application_id for e in final) == Counter(applied.values())
        assert {r["ref"]: r["state"] for r in timers} == {a: "done" for a in applied.values()}
        killed = {r["ref"] for r in claimed_at_kill if r["state"] == "claimed"}
        assert all(r["attempts"] >= 2 for r in timers if r["ref"] in killed)
        log = second.log_path.read_text(errors="replace")
        assert "Traceback" not in log, second.log_tail()
