"""The operators' audit trail in cancellation: who decided what, about what, and why."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from services.cancellation.adapters.tables import operator_actions


async def record_operator_action(
    conn: AsyncConnection,
    *,
    at: datetime,
    operator_id: str,
    action: str,
    subject: str,
    account_id: str | None = None,
    reason: str | None = None,
) -> None:
    await conn.execute(
        operator_actions.insert().values(
            at=at,
            operator_id=operator_id,
            action=action,
            account_id=account_id,
            subject=subject,
            reason=reason,
        )
    )
