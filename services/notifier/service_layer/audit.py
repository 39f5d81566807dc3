"""Delivery records for audit (NOT-4): what, to whom (masked), when, status, attempts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from services.notifier.adapters.tables import deliveries
from services.notifier.domain.delivery import DeliveryStatus
from shared.errors import AppError
from shared.runtime import Runtime


class InvalidTimeRange(AppError):
    code = "INVALID_TIME_RANGE"


@dataclass(frozen=True)
class DeliveryQuery:
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


async def list_deliveries(runtime: Runtime, query: DeliveryQuery) -> list[dict[str, Any]]:
    """Newest first; the clear destination and the parameters are never read here."""
    if query.since and query.until and query.since > query.until:
        raise InvalidTimeRange("`since` is after `until`.", details={"field": "since"})
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
    async with runtime.engine.connect() as conn:
        return [dict(row._mapping) for row in await conn.execute(stmt)]
