"""The timers' due rows in PostgreSQL: schedule, cancel, claim with a lease, finish.

The only SQL of the timers. Claiming locks due rows `FOR UPDATE SKIP LOCKED` (two workers
never take the same row) and commits them `claimed` with a lease and a fresh claim token;
finishing is `UPDATE ... WHERE claim_token = ours`, in the transaction of the effect, so a
worker whose lease ran out (and whose timer another worker took) changes nothing."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.verification.adapters.tables import timers
from services.verification.domain.timers import Claimed, Timer, TimerKind, TimerState

_LIVE = (TimerState.SCHEDULED.value, TimerState.CLAIMED.value)


class Timers:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def schedule(
        self, kind: TimerKind, account_id: str, ref: str, *, due_at: datetime, now: datetime
    ) -> None:
        await self.conn.execute(
            timers.insert().values(
                kind=kind.value,
                account_id=account_id,
                ref=ref,
                state=TimerState.SCHEDULED.value,
                due_at=due_at,
                created_at=now,
            )
        )

    async def cancel(self, kind: TimerKind, ref: str, *, now: datetime) -> None:
        """The thing ended before its time: the timer will not fire."""
        await self.conn.execute(
            timers.update()
            .where(timers.c.kind == kind.value, timers.c.ref == ref, timers.c.state.in_(_LIVE))
            .values(state=TimerState.CANCELLED.value, done_at=now, claim_token=None)
        )

    async def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[Claimed]:
        """Up to `limit` due timers (and claimed ones whose worker's lease ran out), each
        with a new claim token; commit to hold them."""
        due = sa.or_(
            sa.and_(timers.c.state == TimerState.SCHEDULED.value, timers.c.due_at <= now),
            sa.and_(timers.c.state == TimerState.CLAIMED.value, timers.c.lease_until <= now),
        )
        rows = (
            await self.conn.execute(
                sa.select(timers)
                .where(due)
                .order_by(timers.c.due_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        claimed = []
        for row in rows:
            token = uuid.uuid4()
            await self.conn.execute(
                timers.update()
                .where(timers.c.id == row.id)
                .values(
                    state=TimerState.CLAIMED.value,
                    lease_until=now + lease,
                    claim_token=token,
                    attempts=row.attempts + 1,
                )
            )
            timer = Timer(
                row.id, TimerKind(row.kind), row.account_id, row.ref, row.due_at, row.attempts + 1
            )
            claimed.append(Claimed(timer, token))
        return claimed

    async def finish(self, claimed: Claimed, *, now: datetime) -> bool:
        """End the timer if the claim is still ours; False when it is not (lease lost, or
        cancelled meanwhile): then its effect must not run."""
        result = await self.conn.execute(
            timers.update()
            .where(
                timers.c.id == claimed.timer.id,
                timers.c.state == TimerState.CLAIMED.value,
                timers.c.claim_token == claimed.token,
            )
            .values(state=TimerState.DONE.value, done_at=now, lease_until=None)
        )
        return bool(result.rowcount)

    async def retry(self, claimed: Claimed, *, due_at: datetime) -> None:
        """The effect failed: due again later, if the claim is still ours."""
        await self.conn.execute(
            timers.update()
            .where(timers.c.id == claimed.timer.id, timers.c.claim_token == claimed.token)
            .values(
                state=TimerState.SCHEDULED.value,
                due_at=due_at,
                lease_until=None,
                claim_token=None,
            )
        )

    async def live(self, kind: TimerKind, ref: str) -> Timer | None:
        row = (
            await self.conn.execute(
                sa.select(timers).where(
                    timers.c.kind == kind.value, timers.c.ref == ref, timers.c.state.in_(_LIVE)
                )
            )
        ).one_or_none()
        if row is None:
            return None
        return Timer(row.id, TimerKind(row.kind), row.account_id, row.ref, row.due_at, row.attempts)
