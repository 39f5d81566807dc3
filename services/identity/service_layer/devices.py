"""Trusted devices (LOGIN-5): listed and revocable by the owner; a password change or reset
ends every device's trust."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from services.identity.domain.errors import DeviceNotFound
from services.identity.service_layer.context import IdentityContext


async def trusted_devices(ctx: IdentityContext, account_id: int) -> Sequence[Any]:
    async with ctx.runtime.engine.connect() as conn:
        return await ctx.device_repo.trusted_of(conn, account_id, ctx.now())


async def revoke(ctx: IdentityContext, account_id: int, device_pk: uuid.UUID) -> None:
    async with ctx.runtime.uow() as uow:
        if not await ctx.device_repo.untrust(uow.conn, account_id, device_pk):
            raise DeviceNotFound("No trusted device with this id.")


async def untrust_all(ctx: IdentityContext, conn: Any, account_id: int) -> int:
    """Within the caller's transaction: a password change or reset (LOGIN-5)."""
    return await ctx.device_repo.untrust_all(conn, account_id)
