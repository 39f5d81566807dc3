"""Reading and writing the devices identity issued a credential to (LOGIN-5, LOGIN-6). Only
a SHA-256 of a credential is stored: a database reader cannot present it."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.identity.adapters.tables import devices

Row = sa.Row[Any]


def credential_hash(credential: str) -> str:
    return hashlib.sha256(credential.encode()).hexdigest()


async def find(conn: AsyncConnection, account_id: int, credential: str | None) -> Row | None:
    """The account's device that holds this credential, if any."""
    if not credential:
        return None
    result = await conn.execute(
        sa.select(devices).where(
            devices.c.credential_hash == credential_hash(credential),
            devices.c.account_id == account_id,
        )
    )
    return result.first()


# Built once: every login from a new device runs it.
_ISSUE = sa.insert(devices)


async def issue(
    conn: AsyncConnection, account_id: int, credential: str, *, label: str | None, at: datetime
) -> uuid.UUID:
    device_pk = uuid.uuid4()
    await conn.execute(
        _ISSUE,
        {
            "device_pk": device_pk,
            "account_id": account_id,
            "credential_hash": credential_hash(credential),
            "label": label,
            "first_seen_at": at,
            "last_seen_at": at,
        },
    )
    return device_pk


async def seen(conn: AsyncConnection, device_pk: uuid.UUID, *, at: datetime) -> None:
    await conn.execute(
        sa.update(devices).where(devices.c.device_pk == device_pk).values(last_seen_at=at)
    )


async def trust(conn: AsyncConnection, device_pk: uuid.UUID, *, until: datetime) -> None:
    await conn.execute(
        sa.update(devices).where(devices.c.device_pk == device_pk).values(trusted_until=until)
    )


async def trusted_of(conn: AsyncConnection, account_id: int, now: datetime) -> Sequence[Row]:
    result = await conn.execute(
        sa.select(devices)
        .where(devices.c.account_id == account_id, devices.c.trusted_until > now)
        .order_by(devices.c.last_seen_at.desc())
    )
    return result.all()


async def untrust(conn: AsyncConnection, account_id: int, device_pk: uuid.UUID) -> bool:
    result = await conn.execute(
        sa.update(devices)
        .where(
            devices.c.account_id == account_id,
            devices.c.device_pk == device_pk,
            devices.c.trusted_until.is_not(None),
        )
        .values(trusted_until=None)
        .returning(devices.c.device_pk)
    )
    return result.first() is not None


async def untrust_all(conn: AsyncConnection, account_id: int) -> int:
    """A password change or reset ends the trust of every device (LOGIN-5)."""
    result = await conn.execute(
        sa.update(devices)
        .where(devices.c.account_id == account_id, devices.c.trusted_until.is_not(None))
        .values(trusted_until=None)
    )
    return int(result.rowcount or 0)
