"""Reading and writing identity's tables; storage errors become domain errors here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from services.identity.adapters.tables import (
    account_id_seq,
    accounts,
    login_attempts,
    login_methods,
    mfa_devices,
    projects,
)
from services.identity.domain.errors import AccountNotFound
from services.identity.domain.login_methods import Identity, QuotaExceeded
from services.identity.domain.projects import ProjectNameTaken, ProjectNotFound
from shared.events import LoginMethodKind

Row = sa.Row[Any]


async def lock_identifier(conn: AsyncConnection, namespace: str, value: str) -> None:
    """Serialise every transaction that counts or claims this identifier (quotas hold under
    concurrency: 60 parallel binds of one WeChat give exactly 50)."""
    await conn.execute(
        sa.select(
            sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(f"{namespace}:{value}", 0))
        )
    )


async def new_account_id(conn: AsyncConnection) -> int:
    account_id = await conn.scalar(sa.select(account_id_seq.next_value()))
    assert account_id is not None
    return int(account_id)


async def insert_account(conn: AsyncConnection, account_id: int, **values: Any) -> None:
    await conn.execute(
        accounts.insert().values(
            account_id=account_id, status="active", frozen_reasons=[], **values
        )
    )


async def get_account(conn: AsyncConnection, account_id: int, *, for_update: bool = False) -> Row:
    query = sa.select(accounts).where(accounts.c.account_id == account_id)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        raise AccountNotFound(f"No account {account_id}.")
    return row


async def update_account(conn: AsyncConnection, account_id: int, **values: Any) -> None:
    await conn.execute(
        accounts.update().where(accounts.c.account_id == account_id).values(**values)
    )


_TOUCH_LOGIN = (
    accounts.update()
    .where(accounts.c.account_id == sa.bindparam("key"))
    .values(last_login_at=sa.bindparam("at"))
)


async def record_login(conn: AsyncConnection, account_id: int, *, at: datetime) -> None:
    """`last_login_at` of a login (built once: every login runs it)."""
    await conn.execute(_TOUCH_LOGIN, {"key": account_id, "at": at})


async def methods_of(conn: AsyncConnection, account_id: int) -> list[Row]:
    result = await conn.execute(
        sa.select(login_methods)
        .where(login_methods.c.account_id == account_id)
        .order_by(login_methods.c.bound_at)
    )
    return list(result.all())


async def accounts_with(conn: AsyncConnection, kind: LoginMethodKind, identifier: str) -> list[int]:
    """Accounts the identity is bound to (a WeChat person may have up to 50)."""
    result = await conn.execute(
        sa.select(login_methods.c.account_id)
        .where(login_methods.c.kind == kind.value, login_methods.c.identifier == identifier)
        .order_by(login_methods.c.account_id)
    )
    return [int(row[0]) for row in result.all()]


_FIRST_ACCOUNT_WITH = (
    sa.select(accounts)
    .join(login_methods, login_methods.c.account_id == accounts.c.account_id)
    .where(
        login_methods.c.kind == sa.bindparam("kind"),
        login_methods.c.identifier == sa.bindparam("identifier"),
    )
    .order_by(accounts.c.account_id)
    .limit(1)
)


async def first_account_with(
    conn: AsyncConnection, kind: LoginMethodKind, identifier: str
) -> Row | None:
    """The account (lowest id) the identity is bound to, in one statement (built once: every
    login runs it)."""
    result = await conn.execute(_FIRST_ACCOUNT_WITH, {"kind": kind.value, "identifier": identifier})
    return result.first()


async def insert_method(
    conn: AsyncConnection,
    account_id: int,
    identity: Identity,
    *,
    display: str,
    limit: int,
    at: datetime,
) -> None:
    """Store a login method the caller checked (LM-1, LM-2, LM-8, under the account's and the
    identifier's locks); the unique index's refusal is LM-2's answer (`limit` for its details)."""
    try:
        async with conn.begin_nested():
            await conn.execute(
                login_methods.insert().values(
                    account_id=account_id,
                    kind=identity.kind.value,
                    identifier=identity.identifier,
                    subtype=identity.subtype,
                    display=display,
                    bound_at=at,
                )
            )
    except IntegrityError:
        raise QuotaExceeded(
            f"This {identity.kind.value} identity is already bound to another account.",
            details={"kind": identity.kind.value, "limit": limit},
        ) from None


async def delete_method(conn: AsyncConnection, account_id: int, kind: LoginMethodKind) -> None:
    """Remove the account's method of this kind (the caller checked LM-4)."""
    await conn.execute(
        login_methods.delete().where(
            login_methods.c.account_id == account_id, login_methods.c.kind == kind.value
        )
    )


async def release_all_methods(conn: AsyncConnection, account_id: int) -> None:
    """REG-5: a cancelled account's identifiers are free again."""
    await conn.execute(login_methods.delete().where(login_methods.c.account_id == account_id))


async def count_secure_phone(conn: AsyncConnection, phone: str) -> int:
    """Accounts (not cancelled) guarded by this phone; call under lock_identifier('phone')."""
    count = await conn.scalar(
        sa.select(sa.func.count())
        .select_from(accounts)
        .where(accounts.c.secure_phone == phone, accounts.c.status != "cancelled")
    )
    return int(count or 0)


async def accounts_by_secure_phone(conn: AsyncConnection, phone: str) -> list[Row]:
    result = await conn.execute(
        sa.select(accounts).where(
            accounts.c.secure_phone == phone, accounts.c.status != "cancelled"
        )
    )
    return list(result.all())


# Built once: a login runs it, and a statement object reused keeps its compiled form
# (no statement building and cache-key generation per call).
_INSERT_ATTEMPT = login_attempts.insert()


async def record_attempt(
    conn: AsyncConnection,
    account_id: int,
    *,
    at: datetime,
    method: str,
    device_id: str | None,
    ip: str | None,
    result: str,
    reason: str | None = None,
    attempts: int = 1,
) -> None:
    await conn.execute(
        _INSERT_ATTEMPT,
        {
            "account_id": account_id,
            "at": at,
            "method": method,
            "device_id": device_id,
            "ip": ip,
            "result": result,
            "reason": reason,
            "attempts": attempts,
        },
    )


async def record_password_lock(
    conn: AsyncConnection,
    account_id: int,
    *,
    until: datetime | None,
    until_reset: bool,
    streak: int | None = None,
) -> None:
    """LOGIN-2/4: the lock's end, kept with the account (Redis may lose its own copy); a
    spent budget with the name of the streak that spent it."""
    values: dict[str, Any] = {}
    if until is not None:
        values["password_locked_until"] = sa.func.greatest(
            sa.func.coalesce(accounts.c.password_locked_until, until), until
        )
    if until_reset:
        values["password_lock_until_reset"] = True
        values["password_lock_streak"] = streak
    if values:
        await conn.execute(
            accounts.update().where(accounts.c.account_id == account_id).values(**values)
        )


async def lift_password_lock(conn: AsyncConnection, account_id: int) -> None:
    """A password reset or an operator lifted the lock."""
    await conn.execute(
        accounts.update()
        .where(accounts.c.account_id == account_id)
        .values(
            password_locked_until=None, password_lock_until_reset=False, password_lock_streak=None
        )
    )


_STATUS_FOR_SHARE = (
    sa.select(accounts.c.status)
    .where(accounts.c.account_id == sa.bindparam("key"))
    .with_for_update(read=True)
)


async def status_for_share(conn: AsyncConnection, account_id: int) -> str | None:
    """The account's status, its row locked against an erasure until the commit (None: no
    such account; built once: every login runs it)."""
    return await conn.scalar(_STATUS_FOR_SHARE, {"key": account_id})


async def login_email(conn: AsyncConnection, account_id: int) -> str | None:
    """The account's login email (its password's identifier), if it logs in by email."""
    return await conn.scalar(
        sa.select(login_methods.c.identifier).where(
            login_methods.c.account_id == account_id,
            login_methods.c.kind == LoginMethodKind.EMAIL.value,
        )
    )


async def login_history(conn: AsyncConnection, account_id: int, limit: int) -> Sequence[Row]:
    result = await conn.execute(
        sa.select(login_attempts)
        .where(login_attempts.c.account_id == account_id)
        .order_by(login_attempts.c.at.desc(), login_attempts.c.id.desc())
        .limit(limit)
    )
    return result.all()


async def insert_project(
    conn: AsyncConnection, account_id: int, name: str, description: str, at: datetime
) -> Row:
    project_id = uuid.uuid4()
    try:
        async with conn.begin_nested():
            await conn.execute(
                projects.insert().values(
                    project_id=project_id,
                    account_id=account_id,
                    name=name,
                    description=description,
                    enabled=True,
                    created_at=at,
                    updated_at=at,
                )
            )
    except IntegrityError:
        raise ProjectNameTaken(
            f"A project named {name!r} exists already.", details={"name": name}
        ) from None
    return await get_project(conn, account_id, project_id)


async def get_project(conn: AsyncConnection, account_id: int, project_id: uuid.UUID) -> Row:
    row = (
        await conn.execute(
            sa.select(projects).where(
                projects.c.project_id == project_id, projects.c.account_id == account_id
            )
        )
    ).first()
    if row is None:
        raise ProjectNotFound(f"No project {project_id}.")
    return row


async def set_project_enabled(
    conn: AsyncConnection, account_id: int, project_id: uuid.UUID, enabled: bool, at: datetime
) -> Row:
    await get_project(conn, account_id, project_id)
    await conn.execute(
        projects.update()
        .where(projects.c.project_id == project_id)
        .values(enabled=enabled, updated_at=at)
    )
    return await get_project(conn, account_id, project_id)


async def list_projects(
    conn: AsyncConnection, account_id: int, include_disabled: bool
) -> Sequence[Row]:
    query = sa.select(projects).where(projects.c.account_id == account_id)
    if not include_disabled:
        query = query.where(projects.c.enabled.is_(True))
    return (await conn.execute(query.order_by(projects.c.created_at))).all()


async def mfa_active(conn: AsyncConnection, account_id: int) -> bool:
    """Whether the account has a bound (confirmed) MFA device (PROT-2's usual factor)."""
    found = await conn.scalar(
        sa.select(sa.literal(True)).where(
            mfa_devices.c.account_id == account_id, mfa_devices.c.state == "active"
        )
    )
    return bool(found)
