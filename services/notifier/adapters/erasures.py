"""The erasure records in PostgreSQL, and the erasure of an account's outcome events from
the outbox. The only SQL of the erasure (the contacts and deliveries erase themselves through
their own repositories; when an erasure runs is a timer, adapters/timers.py).

One `erasures` row per account: which application it is for (null while only identity's
tombstone asked), its bound `erase_by`, when it was erased (and whether forced), when
`NotifierDataErased` was queued. The timer's effect takes it `FOR UPDATE` after the account's
advisory lock, as the tombstone and the contacts projection do.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from services.notifier.adapters.tables import erasures
from services.notifier.domain.erasure import Erasure
from shared.outbox import outbox_parked_table, outbox_table


def _erasure(row: Any) -> Erasure:
    return Erasure(
        account_id=row.account_id,
        application_id=row.application_id,
        erase_by=row.erase_by,
        erased_at=row.erased_at,
        source_event_id=row.source_event_id,
        correlation_id=row.correlation_id,
    )


@dataclass(frozen=True)
class Recorded:
    """The erasure record after CancellationCompleted: `created` when there was none;
    `first` when this is the first completion for it (a tombstone's record gets its
    application now)."""

    created: bool
    first: bool
    erased_at: datetime | None
    confirmed: bool


class ErasureRepository:
    """Erasure records within the caller's transaction (a unit of work's connection)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def record_completed(
        self,
        account_id: str,
        *,
        application_id: str,
        source_event_id: uuid.UUID,
        correlation_id: uuid.UUID | None,
        now: datetime,
        erase_by: datetime,
    ) -> Recorded:
        """CancellationCompleted: a record bounded by `erase_by`. A record the tombstone made
        gets the application and the new bound; one that has its application already is left
        as it is (a redelivery, or a second completion)."""
        created = (
            await self._conn.execute(
                postgresql.insert(erasures)
                .values(
                    account_id=account_id,
                    application_id=application_id,
                    source_event_id=source_event_id,
                    correlation_id=correlation_id,
                    requested_at=now,
                    erase_by=erase_by,
                )
                .on_conflict_do_nothing(index_elements=[erasures.c.account_id])
                .returning(erasures.c.account_id)
            )
        ).first()
        if created is not None:
            return Recorded(created=True, first=True, erased_at=None, confirmed=False)
        row = (
            await self._conn.execute(
                sa.select(erasures).where(erasures.c.account_id == account_id).with_for_update()
            )
        ).one()
        first = row.application_id is None
        if first:
            # The completion notice now has its own time to go out.
            await self._conn.execute(
                erasures.update()
                .where(erasures.c.account_id == account_id)
                .values(
                    application_id=application_id,
                    source_event_id=source_event_id,
                    correlation_id=correlation_id,
                    erase_by=erase_by,
                )
            )
        return Recorded(
            created=False,
            first=first,
            erased_at=row.erased_at,
            confirmed=row.confirmed_at is not None,
        )

    async def record_tombstoned(
        self, account_id: str, *, now: datetime, erase_by: datetime
    ) -> bool:
        """identity.contacts' tombstone: a record bounded by `erase_by` unless there is one
        already; True when it made one."""
        created = (
            await self._conn.execute(
                postgresql.insert(erasures)
                .values(account_id=account_id, requested_at=now, erase_by=erase_by)
                .on_conflict_do_nothing(index_elements=[erasures.c.account_id])
                .returning(erasures.c.account_id)
            )
        ).first()
        return created is not None

    async def lock(self, account_id: str) -> Erasure | None:
        """The account's erasure record, locked for this transaction."""
        row = (
            await self._conn.execute(
                sa.select(erasures).where(erasures.c.account_id == account_id).with_for_update()
            )
        ).one_or_none()
        return None if row is None else _erasure(row)

    async def confirmed(self, account_id: str, now: datetime) -> None:
        """NotifierDataErased is queued for this erasure."""
        await self._conn.execute(
            erasures.update().where(erasures.c.account_id == account_id).values(confirmed_at=now)
        )

    async def is_erased(self, account_id: str) -> bool:
        erased_at = await self._conn.scalar(
            sa.select(erasures.c.erased_at).where(erasures.c.account_id == account_id)
        )
        return erased_at is not None

    async def erased(self, account_id: str, *, now: datetime, forced: bool) -> None:
        """Erased (in the transaction that erased, which holds the record's lock)."""
        await self._conn.execute(
            erasures.update()
            .where(erasures.c.account_id == account_id)
            .values(erased_at=now, forced=forced)
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
