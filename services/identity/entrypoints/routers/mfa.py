"""The account's MFA device (MFA-1, MFA-2): bind, confirm, unbind. The secret is in the
binding's reply only, never in a later one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response

from services.identity.adapters.qr_code import qr_svg
from services.identity.entrypoints.dependencies import account_id_of, caller, context
from services.identity.entrypoints.routers.schemas import MfaConfirmIn, ProofBodyIn, proof_of
from services.identity.service_layer import mfa as mfa_cases
from services.identity.service_layer.context import IdentityContext
from shared.auth import Caller

router = APIRouter(tags=["mfa"])


@router.get("/me/mfa")
async def my_mfa(
    who: Caller = Depends(caller), ctx: IdentityContext = Depends(context)
) -> dict[str, Any]:
    """The device's state: none, pending (made, not confirmed) or active. Never its secret."""
    found = await mfa_cases.status(ctx, account_id_of(who))
    return {
        "state": found.state.value if found.state is not None else "none",
        "activated_at": found.activated_at,
    }


@router.post("/me/mfa", status_code=201)
async def bind_mfa(
    body: ProofBodyIn,
    response: Response,
    who: Caller = Depends(caller),
    ctx: IdentityContext = Depends(context),
) -> dict[str, str]:
    """MFA-2: after identity verification (`proof`, or a fresh step-up), a new TOTP secret
    as an otpauth URI, a QR code (SVG) and base32 text, shown this once; POST
    /v1/me/mfa/confirm with a code binds it."""
    enrolment = await mfa_cases.bind(ctx, who, proof_of(body.proof))
    response.headers["Cache-Control"] = "no-store"
    return {
        "otpauth_uri": enrolment.otpauth_uri,
        "qr_svg": qr_svg(enrolment.otpauth_uri),
        "secret": enrolment.secret,
    }


@router.post("/me/mfa/confirm")
async def confirm_mfa(
    body: MfaConfirmIn, who: Caller = Depends(caller), ctx: IdentityContext = Depends(context)
) -> dict[str, Any]:
    """MFA-2: one valid code of the new device completes the binding (MfaBound)."""
    activated_at = await mfa_cases.confirm(ctx, account_id_of(who), body.code)
    return {"state": "active", "activated_at": activated_at}


@router.post("/me/mfa/unbind", status_code=204)
async def unbind_mfa(
    body: ProofBodyIn, who: Caller = Depends(caller), ctx: IdentityContext = Depends(context)
) -> None:
    """MFA-2: unbinding needs identity verification: `proof` (the device's code or a secure
    channel's), or a session that stepped up in the last STEP_UP_MAX_AGE_S."""
    await mfa_cases.unbind(ctx, who, proof_of(body.proof))
