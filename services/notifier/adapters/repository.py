"""The courier's queue in PostgreSQL: due deliveries, claims and outcomes. The only SQL of
the delivery side; statuses go through `DeliveryStatus`, never as strings."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from services.notifier.adapters.tables import EnumText, contacts, deliveries
from services.notifier.domain.delivery import Delivery, DeliveryStatus
from services.notifier.domain.routing import Contacts


@dataclass(frozen=True)
class DeliveryQuery:
    """Filters of the operators' audit of delivery records (NOT-4)."""

    account_id: str | None = None
    message_type: str | None = None
    status: DeliveryStatus | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100


RECORD_COLUMNS = (
    deliveries.c.id,
    deliveries.c.source_event_id,
    deliveries.c.account_id,
    deliveries.c.message_type,
    deliveries.c.category,
    deliveries.c.channel,
    deliveries.c.destination_masked,
    deliveries.c.language,
    deliveries.c.status,
    deliveries.c.attempts,
    deliveries.c.last_error,
    deliveries.c.created_at,
    deliveries.c.finished_at,
)
_CONTACT_FIELDS = ("secure_phone", "secure_email", "message_phone", "contact_email", "language")
# What a transition may change; the rest of a delivery is fixed when it is queued.
_MUTABLE = (
    "destination",
    "destination_masked",
    "language",
    "params",
    "status",
    "attempts",
    "next_attempt_at",
    "last_error",
    "lease_until",
    "claim_token",
    "provider_ref",
    "finished_at",
)


def _is(status: DeliveryStatus) -> sa.ColumnElement[bool]:
    # Rendered inline, not bound: the planner then matches the partial indexes on status
    # (deliveries_due, deliveries_leased) even with a generic prepared plan.
    literal = sa.bindparam(None, status, type_=EnumText(DeliveryStatus), literal_execute=True)
    return deliveries.c.status == literal


_PENDING = deliveries.c.status.in_([DeliveryStatus.QUEUED, DeliveryStatus.SENDING])


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=row.id,
        source_event_id=row.source_event_id,
        correlation_id=row.correlation_id,
        account_id=row.account_id,
        message_type=row.message_type,
        category=row.category,
        channel=row.channel,
        destination=row.destination,
        destination_masked=row.destination_masked,
        language=row.language,
        params=dict(row.params),
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
        last_error=row.last_error,
        lease_until=row.lease_until,
        claim_token=row.claim_token,
        provider_ref=row.provider_ref,
        finished_at=row.finished_at,
    )


def _contacts(row: Any) -> Contacts | None:
    if row.known is None:
        return None
    return Contacts(**{name: getattr(row, f"c_{name}") for name in _CONTACT_FIELDS})


class DeliveryRepository:
    """Deliveries within the caller's transaction (a unit of work's connection)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def lock_due(self, now: datetime, limit: int) -> list[tuple[Delivery, Contacts | None]]:
        """Lock up to `limit` due deliveries, oldest due first, each with its account's
        contacts if known. Rows locked by another transaction are skipped, so instances
        never share one; first the claims whose sender died (lease ran out), then the queue."""
        found: list[tuple[Delivery, Contacts | None]] = []
        for due in (
            sa.and_(_is(DeliveryStatus.SENDING), deliveries.c.lease_until <= now),
            sa.and_(_is(DeliveryStatus.QUEUED), deliveries.c.next_attempt_at <= now),
        ):
            if len(found) >= limit:
                break
            rows = await self._conn.execute(
                sa.select(
                    deliveries,
                    contacts.c.account_id.label("known"),
                    *(contacts.c[name].label(f"c_{name}") for name in _CONTACT_FIELDS),
                )
                .outerjoin(contacts, contacts.c.account_id == deliveries.c.account_id)
                .where(due)
                .order_by(deliveries.c.next_attempt_at)
                .limit(limit - len(found))
                .with_for_update(of=deliveries, skip_locked=True)
            )
            found.extend((_delivery(row), _contacts(row)) for row in rows)
        return found

    async def add_new(self, items: Sequence[Delivery]) -> None:
        """Insert queued deliveries in one statement; one that exists already (same source
        event and channel) is left as it is."""
        if not items:
            return
        await self._conn.execute(
            postgresql.insert(deliveries).on_conflict_do_nothing(
                constraint="deliveries_once_per_channel"
            ),
            [{c.name: getattr(d, c.name) for c in deliveries.columns} for d in items],
        )

    async def find_records(self, query: DeliveryQuery) -> list[dict[str, Any]]:
        """Delivery records for audit, newest first; never the clear destination or the
        parameters."""
        stmt = sa.select(*RECORD_COLUMNS)
        if query.account_id is not None:
            stmt = stmt.where(deliveries.c.account_id == query.account_id)
        if query.message_type is not None:
            stmt = stmt.where(deliveries.c.message_type == query.message_type)
        if query.status is not None:
            stmt = stmt.where(deliveries.c.status == query.status)
        if query.since is not None:
            stmt = stmt.where(deliveries.c.created_at >= query.since)
        if query.until is not None:
            stmt = stmt.where(deliveries.c.created_at < query.until)
        stmt = stmt.order_by(deliveries.c.created_at.desc(), deliveries.c.id).limit(query.limit)
        return [dict(row._mapping) for row in await self._conn.execute(stmt)]

    async def count_pending(self, account_id: str) -> int:
        """The account's deliveries not finished yet (queued or being sent)."""
        count = await self._conn.scalar(
            sa.select(sa.func.count())
            .select_from(deliveries)
            .where(deliveries.c.account_id == account_id, _PENDING)
        )
        return int(count or 0)

    async def lock_pending(self, account_id: str) -> list[Delivery]:
        """The account's unfinished deliveries, locked (a sender's outcome then waits, and
        finds the claim gone)."""
        rows = await self._conn.execute(
            sa.select(deliveries)
            .where(deliveries.c.account_id == account_id, _PENDING)
            .order_by(deliveries.c.id)
            .with_for_update()
        )
        return [_delivery(row) for row in rows]

    async def ids_of(self, account_id: str) -> list[uuid.UUID]:
        rows = await self._conn.execute(
            sa.select(deliveries.c.id).where(deliveries.c.account_id == account_id)
        )
        return list(rows.scalars())

    async def erase_account(self, account_id: str, *, mark: str) -> int:
        """CAN-7: the account's records keep no destination, clear or masked, and no
        parameters; an error that quoted the masked destination quotes `mark` instead.
        Returns how many records were erased."""
        d = deliveries.c
        quoted = sa.and_(d.destination_masked.is_not(None), d.last_error.is_not(None))
        result = await self._conn.execute(
            deliveries.update()
            .where(d.account_id == account_id)
            .values(
                destination=None,
                destination_masked=None,
                params={},
                last_error=sa.case(
                    (quoted, sa.func.replace(d.last_error, d.destination_masked, mark)),
                    else_=d.last_error,
                ),
            )
        )
        return int(result.rowcount or 0)

    async def save(self, items: Iterable[Delivery]) -> None:
        """Write the deliveries' state (one statement, executed for many)."""
        values = [
            {"key": d.id, **{f"v_{name}": getattr(d, name) for name in _MUTABLE}} for d in items
        ]
        if not values:
            return
        await self._conn.execute(
            deliveries.update()
            .where(deliveries.c.id == sa.bindparam("key"))
            .values({name: sa.bindparam(f"v_{name}") for name in _MUTABLE}),
            values,
        )

    async def save_if_claimed(
        self, items: Sequence[Delivery], claims: Mapping[uuid.UUID, uuid.UUID]
    ) -> list[Delivery]:
        """Save the outcomes of deliveries still claimed by the token each was sent under
        (`claims`: delivery id -> token); returns those saved. A sender whose lease ran out
        and whose delivery another worker took over saves nothing."""
        if not items:
            return []
        rows = await self._conn.execute(
            sa.select(deliveries.c.id, deliveries.c.claim_token)
            .where(deliveries.c.id.in_([d.id for d in items]), _is(DeliveryStatus.SENDING))
            .order_by(deliveries.c.id)
            .with_for_update()
        )
        still_ours = {row.id for row in rows if row.claim_token == claims.get(row.id)}
        mine = [d for d in items if d.id in still_ours]
        await self.save(mine)
        return mine
