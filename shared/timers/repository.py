"""The timers' due rows in PostgreSQL: schedule, cancel, claim with a lease, finish, postpone.

The only SQL of the timers. Claiming locks due rows `FOR UPDATE SKIP LOCKED` (two workers
never take the same row) and commits them `claimed` with a lease and a fresh claim token;
finishing is `UPDATE ... WHERE claim_token = ours`, in the transaction of the effect, so a
worker whose lease ran out (and whose timer another worker took) changes nothing."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.timers.model import LIVE, Claimed, Timer, TimerState


def _timer(row: Any, attempts: int | None = None) -> Timer:
    return Timer(
        row.id,
        row.kind,
        row.account_id,
        row.ref,
        row.due_at,
        row.attempts if attempts is None else attempts,
    )


class TimerRepository:
    """The timers of one service, over its table (shared.timers.table.timers_table)."""

    def __init__(self, conn: AsyncConnection, table: sa.Table) -> None:
        self.conn = conn
        self.table = table

    async def schedule(
        self, kind: str, account_id: str, ref: str, *, due_at: datetime, now: datetime
    ) -> None:
        await self.conn.execute(
            self.table.insert().values(
                kind=str(kind),
                account_id=account_id,
                ref=ref,
                state=TimerState.SCHEDULED.value,
                due_at=due_at,
                created_at=now,
            )
        )

    async def schedule_once(
        self, kind: str, account_id: str, ref: str, *, due_at: datetime, now: datetime
    ) -> bool:
        """Schedule unless a live timer of this kind and ref exists (the partial unique
        index decides, so concurrent transactions make one); False when one was there."""
        t = self.table
        result = await self.conn.execute(
            insert(t)
            .values(
                kind=str(kind),
                account_id=account_id,
                ref=ref,
                state=TimerState.SCHEDULED.value,
                due_at=due_at,
                created_at=now,
            )
            .on_conflict_do_nothing(
                index_elements=["kind", "ref"],
                index_where=sa.text("state IN ('scheduled', 'claimed')"),
            )
        )
        return bool(result.rowcount)

    async def cancel(
        self, kind: str, ref: str, *, now: datetime, skip_firing: bool = False
    ) -> None:
        """The thing ended before its time: the timer will not fire.

        `skip_firing` leaves alone a timer a worker is firing right now (its row locked by
        the transaction that ends it): waiting for it could deadlock with an effect that
        locks the thing this transaction holds; that effect must then find the thing ended
        and do nothing."""
        t = self.table
        live = sa.and_(t.c.kind == str(kind), t.c.ref == ref, t.c.state.in_(LIVE))
        if skip_firing:
            live = t.c.id.in_(
                sa.select(t.c.id).where(live).with_for_update(skip_locked=True).scalar_subquery()
            )
        await self.conn.execute(
            t.update()
            .where(live)
            .values(state=TimerState.CANCELLED.value, done_at=now, claim_token=None)
        )

    async def bring_forward(self, kind: str, ref: str, *, due_at: datetime) -> bool:
        """A scheduled timer of this kind and ref, due later, is due at `due_at` instead.
        Never waits: a timer a worker holds (claimed, or locked while it fires or is being
        claimed) is left as it is, its worker about to fire it anyway. True if one moved."""
        t = self.table
        waiting = (
            sa.select(t.c.id)
            .where(
                t.c.kind == str(kind),
                t.c.ref == ref,
                t.c.state == TimerState.SCHEDULED.value,
                t.c.due_at > due_at,
            )
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        result = await self.conn.execute(
            t.update().where(t.c.id.in_(waiting)).values(due_at=due_at)
        )
        return bool(result.rowcount)

    async def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[Claimed]:
        """Up to `limit` due timers (and claimed ones whose worker's lease ran out), each
        with a new claim token; commit to hold them."""
        t = self.table
        due = sa.or_(
            sa.and_(t.c.state == TimerState.SCHEDULED.value, t.c.due_at <= now),
            sa.and_(t.c.state == TimerState.CLAIMED.value, t.c.lease_until <= now),
        )
        rows = (
            await self.conn.execute(
                sa.select(t)
                .where(due)
                .order_by(t.c.due_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        claimed = []
        for row in rows:
            token = uuid.uuid4()
            await self.conn.execute(
                t.update()
                .where(t.c.id == row.id)
                .values(
                    state=TimerState.CLAIMED.value,
                    lease_until=now + lease,
                    claim_token=token,
                    attempts=row.attempts + 1,
                )
            )
            claimed.append(Claimed(_timer(row, row.attempts + 1), token))
        return claimed

    async def finish(self, claimed: Claimed, *, now: datetime) -> bool:
        """End the timer if the claim is still ours; False when it is not (lease lost, or
        cancelled meanwhile): then its effect must not run."""
        t = self.table
        result = await self.conn.execute(
            t.update()
            .where(
                t.c.id == claimed.timer.id,
                t.c.state == TimerState.CLAIMED.value,
                t.c.claim_token == claimed.token,
            )
            .values(state=TimerState.DONE.value, done_at=now, lease_until=None)
        )
        return bool(result.rowcount)

    async def postpone(self, claimed: Claimed, *, due_at: datetime) -> None:
        """The effect ran and found its thing not ready: the same timer is due again at
        `due_at` (in the transaction that finished it, while the claim is still ours). A new
        wait, not a failure: its attempts count afresh."""
        t = self.table
        await self.conn.execute(
            t.update()
            .where(t.c.id == claimed.timer.id, t.c.claim_token == claimed.token)
            .values(
                state=TimerState.SCHEDULED.value,
                due_at=due_at,
                done_at=None,
                lease_until=None,
                claim_token=None,
                attempts=0,
            )
        )

    async def retry(self, claimed: Claimed, *, due_at: datetime) -> None:
        """The effect failed: due again later, if the claim is still ours."""
        t = self.table
        await self.conn.execute(
            t.update()
            .where(t.c.id == claimed.timer.id, t.c.claim_token == claimed.token)
            .values(
                state=TimerState.SCHEDULED.value,
                due_at=due_at,
                lease_until=None,
                claim_token=None,
            )
        )

    async def live(self, kind: str, ref: str) -> Timer | None:
        t = self.table
        row = (
            await self.conn.execute(
                sa.select(t).where(t.c.kind == str(kind), t.c.ref == ref, t.c.state.in_(LIVE))
            )
        ).one_or_none()
        return None if row is None else _timer(row)
