"""Recovery in PostgreSQL (REC-1, REC-2): the accounts a secure phone guards, the appeals, the
operators' audit trail."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.identity.adapters.tables import (
    accounts,
    login_methods,
    operator_actions,
    recovery_appeals,
)
from services.identity.domain.errors import AppealNotFound
from services.identity.domain.recovery import AppealStatus
from shared import operator_audit

Row = sa.Row[Any]


async def guarded_by(conn: AsyncConnection, phone: str) -> list[tuple[Row, list[Row]]]:
    """REC-1: the accounts (not cancelled) whose secure phone this is, oldest first, each with
    its login methods; two statements whatever the count (SEC-1 caps it at 5 anyway)."""
    found = (
        await conn.execute(
            sa.select(accounts.c.account_id, accounts.c.registered_at)
            .where(accounts.c.secure_phone == phone, accounts.c.status != "cancelled")
            .order_by(accounts.c.account_id)
        )
    ).all()
    ids = [row.account_id for row in found]
    methods: dict[int, list[Row]] = {account_id: [] for account_id in ids}
    if ids:
        rows = await conn.execute(
            sa.select(login_methods.c.account_id, login_methods.c.kind, login_methods.c.display)
            .where(login_methods.c.account_id.in_(ids))
            .order_by(login_methods.c.bound_at)
        )
        for row in rows:
            methods[row.account_id].append(row)
    return [(row, methods[row.account_id]) for row in found]


async def pending_of(conn: AsyncConnection, account_id: int) -> uuid.UUID | None:
    """The account's pending appeal; call with the account row locked (one pending each)."""
    return await conn.scalar(
        sa.select(recovery_appeals.c.appeal_id).where(
            recovery_appeals.c.account_id == account_id,
            recovery_appeals.c.status == AppealStatus.PENDING.value,
        )
    )


async def insert(
    conn: AsyncConnection,
    *,
    account_id: int,
    email: str,
    email_key: str,
    password_hash: str,
    reset_mfa: bool,
    statement: str,
    ip: str | None,
    at: datetime,
) -> uuid.UUID:
    appeal_id = uuid.uuid4()
    await conn.execute(
        recovery_appeals.insert().values(
            appeal_id=appeal_id,
            account_id=account_id,
            email=email,
            email_key=email_key,
            password_hash=password_hash,
            reset_mfa=reset_mfa,
            statement=statement,
            status=AppealStatus.PENDING.value,
            ip=ip,
            created_at=at,
        )
    )
    return appeal_id


async def get(conn: AsyncConnection, appeal_id: uuid.UUID, *, for_update: bool = False) -> Row:
    query = sa.select(recovery_appeals).where(recovery_appeals.c.appeal_id == appeal_id)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        raise AppealNotFound(f"No appeal {appeal_id}.")
    return row


async def listed(conn: AsyncConnection, status: AppealStatus, limit: int) -> Sequence[Row]:
    """Appeals in a status, each with its account's status and registration time; pending
    ones oldest first (the queue), decided ones newest first."""
    order = (
        recovery_appeals.c.created_at.asc()
        if status is AppealStatus.PENDING
        else recovery_appeals.c.decided_at.desc()
    )
    result = await conn.execute(
        sa.select(
            recovery_appeals,
            accounts.c.status.label("account_status"),
            accounts.c.registered_at.label("account_registered_at"),
        )
        .join(accounts, accounts.c.account_id == recovery_appeals.c.account_id)
        .where(recovery_appeals.c.status == status.value)
        .order_by(order, recovery_appeals.c.appeal_id)
        .limit(limit)
    )
    return result.all()


async def decide(
    conn: AsyncConnection,
    appeal_id: uuid.UUID,
    status: AppealStatus,
    *,
    at: datetime,
    by: str,
    reason: str | None,
) -> None:
    """The decision; the applicant's password hash is not kept past it (an approval has
    copied it to the account)."""
    await conn.execute(
        recovery_appeals.update()
        .where(recovery_appeals.c.appeal_id == appeal_id)
        .values(
            status=status.value,
            decided_at=at,
            decided_by=by,
            decision_reason=reason,
            password_hash="",
        )
    )


async def record_operator_action(
    conn: AsyncConnection,
    *,
    at: datetime,
    operator_id: str,
    action: str,
    account_id: int,
    subject: str,
    reason: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """The audit trail of operator decisions (MFA-4, REC-2): shared.operator_audit's record
    in identity's table, in the caller's transaction."""
    await operator_audit.record_operator_action(
        conn,
        operator_actions,
        at=at,
        operator_id=operator_id,
        action=action,
        subject=subject,
        account_id=account_id,
        reason=reason,
        details=details,
    )
