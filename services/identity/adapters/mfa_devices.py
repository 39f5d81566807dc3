"""MFA devices in PostgreSQL (MFA-1, MFA-6): one row per account, the secret only as AES-GCM
ciphertext with the id of the key that sealed it. The module is the MfaDeviceRepository port."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from services.identity.adapters.tables import mfa_devices
from services.identity.service_layer.ports import MfaDevice, Sealed
from services.identity.service_layer.ports import MfaDeviceState as DeviceState


async def get(
    conn: AsyncConnection, account_id: int, *, for_update: bool = False
) -> MfaDevice | None:
    query = sa.select(mfa_devices).where(mfa_devices.c.account_id == account_id)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    return MfaDevice(
        account_id=int(row.account_id),
        state=DeviceState(row.state),
        sealed=Sealed(row.key_id, bytes(row.secret_ciphertext)),
        created_at=row.created_at,
        activated_at=row.activated_at,
    )


async def put_pending(conn: AsyncConnection, account_id: int, sealed: Sealed, at: datetime) -> bool:
    """Store a pending device, replacing a pending one; False (nothing stored) when the
    account has an active device."""
    insert = postgresql.insert(mfa_devices).values(
        account_id=account_id,
        state=DeviceState.PENDING.value,
        secret_ciphertext=sealed.ciphertext,
        key_id=sealed.key_id,
        created_at=at,
        activated_at=None,
    )
    upsert = insert.on_conflict_do_update(
        index_elements=[mfa_devices.c.account_id],
        set_={
            "secret_ciphertext": insert.excluded.secret_ciphertext,
            "key_id": insert.excluded.key_id,
            "created_at": insert.excluded.created_at,
        },
        where=mfa_devices.c.state == DeviceState.PENDING.value,
    ).returning(mfa_devices.c.account_id)
    return (await conn.execute(upsert)).first() is not None


async def activate(conn: AsyncConnection, account_id: int, sealed: Sealed, at: datetime) -> bool:
    """The pending device whose secret was checked becomes active; False when it was
    replaced or activated meanwhile."""
    result = await conn.execute(
        mfa_devices.update()
        .where(
            mfa_devices.c.account_id == account_id,
            mfa_devices.c.state == DeviceState.PENDING.value,
            mfa_devices.c.secret_ciphertext == sealed.ciphertext,
        )
        .values(state=DeviceState.ACTIVE.value, activated_at=at)
        .returning(mfa_devices.c.account_id)
    )
    return result.first() is not None


async def reseal(conn: AsyncConnection, account_id: int, old: Sealed, new: Sealed) -> None:
    """Store the secret sealed under the current key, unless the row changed meanwhile."""
    await conn.execute(
        mfa_devices.update()
        .where(
            mfa_devices.c.account_id == account_id,
            mfa_devices.c.secret_ciphertext == old.ciphertext,
        )
        .values(secret_ciphertext=new.ciphertext, key_id=new.key_id)
    )


async def remove_active(conn: AsyncConnection, account_id: int) -> bool:
    """Delete the account's active device; False when it has none."""
    result = await conn.execute(
        mfa_devices.delete()
        .where(
            mfa_devices.c.account_id == account_id,
            mfa_devices.c.state == DeviceState.ACTIVE.value,
        )
        .returning(mfa_devices.c.account_id)
    )
    return result.first() is not None


async def remove_any(conn: AsyncConnection, account_id: int) -> DeviceState | None:
    """Delete the account's device, pending or active (an approved recovery appeal's MFA
    reset, REC-2); its state, or None when it had none."""
    result = await conn.execute(
        mfa_devices.delete()
        .where(mfa_devices.c.account_id == account_id)
        .returning(mfa_devices.c.state)
    )
    row = result.first()
    return DeviceState(row.state) if row is not None else None
