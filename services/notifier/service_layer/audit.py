"""Delivery records for audit (NOT-4): what, to whom (masked), when, status, attempts."""

from __future__ import annotations

from typing import Any

from services.notifier.adapters.repository import DeliveryQuery, DeliveryRepository
from shared.errors import AppError
from shared.runtime import Runtime

__all__ = ["DeliveryQuery", "InvalidTimeRange", "list_deliveries"]


class InvalidTimeRange(AppError):
    code = "INVALID_TIME_RANGE"


async def list_deliveries(runtime: Runtime, query: DeliveryQuery) -> list[dict[str, Any]]:
    """Newest first; the clear destination and the parameters are never read here."""
    if query.since and query.until and query.since > query.until:
        raise InvalidTimeRange("`since` is after `until`.", details={"field": "since"})
    async with runtime.engine.connect() as conn:
        return await DeliveryRepository(conn).find_records(query)
