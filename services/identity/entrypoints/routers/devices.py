"""Trusted devices (LOGIN-5): the owner lists them and ends their trust."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from services.identity.entrypoints.dependencies import account_id_of, caller, context
from services.identity.service_layer import devices as device_cases
from services.identity.service_layer.context import IdentityContext
from shared.auth import Caller

router = APIRouter(tags=["devices"])


@router.get("/me/trusted-devices")
async def trusted_devices(
    who: Caller = Depends(caller), ctx: IdentityContext = Depends(context)
) -> dict[str, Any]:
    """Devices that skip the second factor, and until when."""
    found = await device_cases.trusted_devices(ctx, account_id_of(who))
    return {
        "devices": [
            {
                "id": str(d.device_pk),
                "label": d.label,
                "first_seen_at": d.first_seen_at,
                "last_seen_at": d.last_seen_at,
                "trusted_until": d.trusted_until,
            }
            for d in found
        ]
    }


@router.delete("/me/trusted-devices/{device_id}", status_code=204)
async def revoke_trusted_device(
    device_id: Annotated[uuid.UUID, Path(description="The device's id.")],
    who: Caller = Depends(caller),
    ctx: IdentityContext = Depends(context),
) -> None:
    """End a device's trust: its next login asks for the second factor again."""
    await device_cases.revoke(ctx, account_id_of(who), device_id)
