"""The erasures' due rows in PostgreSQL, and the erasure of an account's outcome events from
the outbox. The only SQL of the erasure (the contacts and deliveries erase themselves through
their own repositories).

Claiming locks due rows `FOR UPDATE SKIP LOCKED` (two workers never take the same row) and
commits them `claimed` with a lease and a fresh claim token; the erasure then takes the row
again `FOR UPDATE` where the token is still its own, in the transaction that erases, so a
worker whose lease ran out (and whose erasure another worker took) changes nothing.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from services.notifier.adapters.tables import erasures
from services.notifier.domain.erasure import Claimed, Erasure, ErasureState
from shared.outbox import outbox_parked_table, outbox_table


def _erasure(row: Any) -> Erasure:
    return Erasure(
        account_id=row.account_id,
        application_id=row.application_id,
        erase_by=row.erase_by,
        attempts=row.attempts,
        source_event_id=row.source_event_id,
        correlation_id=row.correlation_id,
    )


@dataclass(frozen=True)
class Scheduled:
    """The erasure row after CancellationCompleted scheduled it."""

    state: ErasureState
    application_id: str | None
    erased_at: datetime | None
    confirmed: bool


class ErasureRepository:
    """Erasures within the caller's transaction (a unit of work's connection)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def schedule_completed(
        self,
        account_id: str,
        *,
        application_id: str,
        source_event_id: uuid.UUID,
        correlation_id: uuid.UUID | None,
        now: datetime,
        erase_by: datetime,
    ) -> Scheduled:
        """CancellationCompleted: an erasure due now, bounded by `erase_by`. A row the
        tombstone made gets the application and is due now; one that exists for this
        application already is left as it is (a redelivery)."""
        stmt = postgresql.insert(erasures).values(
            account_id=account_id,
            application_id=application_id,
            source_event_id=source_event_id,
            correlation_id=correlation_id,
            state=ErasureState.SCHEDULED,
            requested_at=now,
            erase_by=erase_by,
            due_at=now,
            attempts=0,
        )
        scheduled = erasures.c.state == ErasureState.SCHEDULED.value
        first = erasures.c.application_id.is_(None)
        row = (
            await self._conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[erasures.c.account_id],
                    set_={
                        "application_id": sa.func.coalesce(
                            erasures.c.application_id, stmt.excluded.application_id
                        ),
                        "source_event_id": sa.func.coalesce(
                            erasures.c.source_event_id, stmt.excluded.source_event_id
                        ),
                        "correlation_id": sa.func.coalesce(
                            erasures.c.correlation_id, stmt.excluded.correlation_id
                        ),
                        # The completion notice now has its own time to go out.
                        "erase_by": sa.case(
                            (first, stmt.excluded.erase_by), else_=erasures.c.erase_by
                        ),
                        "due_at": sa.case(
                            (sa.and_(first, scheduled), stmt.excluded.due_at),
                            else_=erasures.c.due_at,
                        ),
                    },
                ).returning(
                    erasures.c.state,
                    erasures.c.application_id,
                    erasures.c.erased_at,
                    erasures.c.confirmed_at,
                )
            )
        ).one()
        return Scheduled(row.state, row.application_id, row.erased_at, row.confirmed_at is not None)

    async def schedule_tombstoned(
        self, account_id: str, *, now: datetime, due_at: datetime
    ) -> None:
        """identity.contacts' tombstone with no erasure yet: erase at `due_at` (the bound) even
        if CancellationCompleted never comes (which makes it due at once)."""
        await self._conn.execute(
            postgresql.insert(erasures)
            .values(
                account_id=account_id,
                state=ErasureState.SCHEDULED,
                requested_at=now,
                erase_by=due_at,
                due_at=due_at,
                attempts=0,
            )
            .on_conflict_do_nothing(index_elements=[erasures.c.account_id])
        )

    async def confirmed(self, account_id: str, now: datetime) -> None:
        """NotifierDataErased is queued for this erasure."""
        await self._conn.execute(
            erasures.update().where(erasures.c.account_id == account_id).values(confirmed_at=now)
        )

    async def is_erased(self, account_id: str) -> bool:
        state = await self._conn.scalar(
            sa.select(erasures.c.state).where(erasures.c.account_id == account_id)
        )
        return state is ErasureState.DONE

    async def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[Claimed]:
        """Up to `limit` due erasures (and claimed ones whose worker's lease ran out), each
        with a new claim token; commit to hold them."""
        due = sa.or_(
            sa.and_(erasures.c.state == ErasureState.SCHEDULED.value, erasures.c.due_at <= now),
            sa.and_(erasures.c.state == ErasureState.CLAIMED.value, erasures.c.lease_until <= now),
        )
        rows = (
            await self._conn.execute(
                sa.select(erasures)
                .where(due)
                .order_by(erasures.c.due_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        claimed = []
        for row in rows:
            token = uuid.uuid4()
            await self._conn.execute(
                erasures.update()
                .where(erasures.c.account_id == row.account_id)
                .values(
                    state=ErasureState.CLAIMED,
                    lease_until=now + lease,
                    claim_token=token,
                    attempts=row.attempts + 1,
                )
            )
            erasure = dataclasses.replace(_erasure(row), attempts=row.attempts + 1)
            claimed.append(Claimed(erasure, token))
        return claimed

    async def lock_claimed(self, claimed: Claimed) -> Erasure | None:
        """The erasure, locked for this transaction, if the claim is still ours."""
        row = (
            await self._conn.execute(
                sa.select(erasures)
                .where(
                    erasures.c.account_id == claimed.erasure.account_id,
                    erasures.c.state == ErasureState.CLAIMED.value,
                    erasures.c.claim_token == claimed.token,
                )
                .with_for_update()
            )
        ).one_or_none()
        return None if row is None else _erasure(row)

    async def reschedule(self, claimed: Claimed, *, due_at: datetime) -> None:
        """Not yet (or it failed): due again at `due_at`, if the claim is still ours."""
        await self._conn.execute(
            erasures.update()
            .where(
                erasures.c.account_id == claimed.erasure.account_id,
                erasures.c.claim_token == claimed.token,
            )
            .values(state=ErasureState.SCHEDULED, due_at=due_at, lease_until=None, claim_token=None)
        )

    async def finish(self, account_id: str, *, now: datetime, forced: bool) -> None:
        """Erased (in the transaction that erased, which holds the row's lock)."""
        await self._conn.execute(
            erasures.update()
            .where(erasures.c.account_id == account_id)
            .values(
                state=ErasureState.DONE,
                erased_at=now,
                forced=forced,
                lease_until=None,
                claim_token=None,
            )
        )


_UUIDS = postgresql.ARRAY(postgresql.UUID(as_uuid=True))


def _ids(event_ids: Sequence[uuid.UUID]) -> sa.BindParameter[Any]:
    # One array parameter, however many ids (an IN list has a parameter per id).
    return sa.bindparam(None, list(event_ids), type_=_UUIDS)


class OutboxErasure:
    """The notifier's own events about an account in its outbox (masked destinations,
    template parameters), found by their ids (outcome events have ids derived from their
    delivery)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def unsent(self, event_ids: Sequence[uuid.UUID]) -> int:
        if not event_ids:
            return 0
        count = await self._conn.scalar(
            sa.select(sa.func.count())
            .select_from(outbox_table)
            .where(outbox_table.c.event_id == sa.any_(_ids(event_ids)))
            .where(outbox_table.c.sent_at.is_(None))
        )
        return int(count or 0)

    async def delete_published(self, event_ids: Sequence[uuid.UUID]) -> int:
        """Delete the rows already published, and parked copies (the broker never took them;
        nobody is left to tell); unsent rows stay and go out. Returns how many went."""
        if not event_ids:
            return 0
        sent = await self._conn.execute(
            outbox_table.delete().where(
                outbox_table.c.event_id == sa.any_(_ids(event_ids)),
                outbox_table.c.sent_at.is_not(None),
            )
        )
        parked = await self._conn.execute(
            outbox_parked_table.delete().where(
                outbox_parked_table.c.event_id == sa.any_(_ids(event_ids))
            )
        )
        return int(sent.rowcount or 0) + int(parked.rowcount or 0)
