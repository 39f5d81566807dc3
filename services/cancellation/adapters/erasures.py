"""CAN-7: the erasure confirmations recorded per application and service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.cancellation.adapters.tables import erasures


class Erasures:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def record(
        self,
        application_id: str,
        service: str,
        *,
        erased_at: datetime,
        kept: Sequence[str],
        now: datetime,
    ) -> bool:
        """Keep a service's confirmation; the first one stands (False for a repeat)."""
        result = await self.conn.execute(
            insert(erasures)
            .values(
                application_id=application_id,
                service=service,
                erased_at=erased_at,
                kept=list(kept),
                recorded_at=now,
            )
            .on_conflict_do_nothing(index_elements=["application_id", "service"])
        )
        return bool(result.rowcount)

    async def of(self, application_id: str) -> dict[str, datetime]:
        """When each service that confirmed erased the application's account."""
        rows = await self.conn.execute(
            sa.select(erasures.c.service, erasures.c.erased_at).where(
                erasures.c.application_id == application_id
            )
        )
        return {row.service: row.erased_at for row in rows}
