"""Reading and writing login and step-up flows (auth_flows)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.identity.adapters.tables import auth_flows
from services.identity.domain.errors import FlowNotFound
from services.identity.domain.flows import Flow, FlowKind


def _flow(row: Any) -> Flow:
    return Flow(
        flow_id=row.flow_id,
        kind=FlowKind(row.kind),
        account_id=row.account_id,
        method=row.method,
        aal=row.aal,
        amr=tuple(row.amr),
        created_at=row.created_at,
        expires_at=row.expires_at,
        completed_at=row.completed_at,
        session_id=row.session_id,
        device_id=row.device_id,
    )


async def create(conn: AsyncConnection, flow: Flow, *, ip: str | None) -> None:
    await conn.execute(
        sa.insert(auth_flows).values(
            flow_id=flow.flow_id,
            kind=flow.kind.value,
            account_id=flow.account_id,
            session_id=flow.session_id,
            method=flow.method,
            aal=flow.aal,
            amr=list(flow.amr),
            device_id=flow.device_id,
            ip=ip,
            created_at=flow.created_at,
            expires_at=flow.expires_at,
        )
    )


async def get(conn: AsyncConnection, flow_id: uuid.UUID) -> Flow:
    row = (await conn.execute(sa.select(auth_flows).where(auth_flows.c.flow_id == flow_id))).first()
    if row is None:
        raise FlowNotFound("No such flow.")
    return _flow(row)


async def complete(
    conn: AsyncConnection, flow_id: uuid.UUID, *, amr: tuple[str, ...], at: datetime
) -> bool:
    """Mark the flow complete at AAL 2; False when another request completed it first (or it
    expired meanwhile), so a flow completes exactly once."""
    result = await conn.execute(
        sa.update(auth_flows)
        .where(
            auth_flows.c.flow_id == flow_id,
            auth_flows.c.completed_at.is_(None),
            auth_flows.c.expires_at > at,
        )
        .values(completed_at=at, aal=2, amr=list(amr))
        .returning(auth_flows.c.flow_id)
    )
    return result.first() is not None


async def expire_pending(
    conn: AsyncConnection, account_id: int, *, at: datetime, keep_session: str | None = None
) -> int:
    """Close every pending flow of the account (its credentials changed hands: a recovery, a
    new password), so a half-done login cannot be completed with what was true before; a
    step-up flow of `keep_session` (the session that made the change) stays open. Returns
    how many were closed."""
    kept = (
        sa.false()
        if keep_session is None
        else sa.and_(
            auth_flows.c.kind == FlowKind.STEP_UP.value, auth_flows.c.session_id == keep_session
        )
    )
    result = await conn.execute(
        sa.update(auth_flows)
        .where(
            auth_flows.c.account_id == account_id,
            auth_flows.c.completed_at.is_(None),
            auth_flows.c.expires_at > at,
            sa.not_(kept),
        )
        .values(expires_at=at)
    )
    return int(result.rowcount or 0)


async def prune(conn: AsyncConnection, *, before: datetime, batch: int) -> int:
    """Delete up to `batch` flows that expired before `before` (retention)."""
    doomed = (
        sa.select(auth_flows.c.flow_id)
        .where(auth_flows.c.expires_at < before)
        .limit(batch)
        .scalar_subquery()
    )
    result = await conn.execute(sa.delete(auth_flows).where(auth_flows.c.flow_id.in_(doomed)))
    return int(result.rowcount or 0)
