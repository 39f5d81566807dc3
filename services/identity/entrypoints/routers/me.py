"""The account's own pages: the account, its settings, its login history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from services.identity.entrypoints.dependencies import account_id_of, caller, context
from services.identity.entrypoints.routers.schemas import ProfileIn
from services.identity.service_layer import accounts as account_cases
from services.identity.service_layer.context import IdentityContext
from shared.auth import Caller
from shared.masking import mask_email, mask_phone

router = APIRouter(tags=["me"])


@router.get("/me")
async def me(
    who: Caller = Depends(caller), ctx: IdentityContext = Depends(context)
) -> dict[str, Any]:
    """The account, personal data masked."""
    async with ctx.runtime.engine.connect() as conn:
        account = await ctx.repo.get_account(conn, account_id_of(who))
        methods = await ctx.repo.methods_of(conn, account_id_of(who))
    return {
        "account_id": str(account.account_id),
        "status": account.status,
        "frozen_reasons": list(account.frozen_reasons),
        "nickname": account.nickname,
        "registered_at": account.registered_at,
        "secure_phone": mask_phone(account.secure_phone) if account.secure_phone else None,
        "secure_email": mask_email(account.secure_email) if account.secure_email else None,
        "login_methods": [
            {"kind": m.kind, "display": m.display, "subtype": m.subtype, "bound_at": m.bound_at}
            for m in methods
        ],
    }


@router.get("/me/settings")
async def my_settings(
    who: Caller = Depends(caller), ctx: IdentityContext = Depends(context)
) -> dict[str, Any]:
    """The owner's own settings page: the one reply with personal data in clear (ACC-2)."""
    async with ctx.runtime.engine.connect() as conn:
        account = await ctx.repo.get_account(conn, account_id_of(who))
    return {
        "account_id": str(account.account_id),
        "nickname": account.nickname,
        "language": account.language,
        "secure_phone": account.secure_phone,
        "secure_email": account.secure_email,
        "message_phone": account.message_phone,
        "contact_email": account.contact_email,
        "real_name_status": account.real_name_status,
        "registered_at": account.registered_at,
        "last_login_at": account.last_login_at,
    }


@router.patch("/me/settings")
async def update_settings(
    body: ProfileIn, who: Caller = Depends(caller), ctx: IdentityContext = Depends(context)
) -> dict[str, Any]:
    """Nickname, language, contact email and message-receiving phone (ACC-2, SEC-4)."""
    await account_cases.update_profile(ctx, account_id_of(who), body.model_dump(exclude_unset=True))
    return await my_settings(who, ctx)


@router.get("/me/logins")
async def my_logins(
    limit: int = 50, who: Caller = Depends(caller), ctx: IdentityContext = Depends(context)
) -> dict[str, Any]:
    """LOGIN-8: the account's login history, newest first."""
    async with ctx.runtime.engine.connect() as conn:
        rows = await ctx.repo.login_history(conn, account_id_of(who), min(max(limit, 1), 200))
    return {
        "logins": [
            {
                "at": r.at,
                "method": r.method,
                "device_id": r.device_id,
                "ip": r.ip,
                "result": r.result,
                "reason": r.reason,
            }
            for r in rows
        ]
    }
