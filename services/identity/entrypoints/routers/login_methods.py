"""Login methods of the account: bind and unbind after identity verification (LM-1..8)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends

from services.identity.entrypoints.dependencies import account_id_of, caller, context
from services.identity.entrypoints.routers.schemas import BindIn, ProofIn, proof_of
from services.identity.service_layer import login_methods as method_cases
from services.identity.service_layer.context import IdentityContext
from shared.auth import Caller
from shared.events import LoginMethodKind

router = APIRouter(tags=["login methods"])


@router.post("/me/login-methods", status_code=201)
async def bind_method(
    body: BindIn, who: Caller = Depends(caller), ctx: IdentityContext = Depends(context)
) -> dict[str, Any]:
    """Bind a login method after identity verification (LM-1..LM-8)."""
    display = await method_cases.bind(
        ctx,
        account_id_of(who),
        method_cases.Bind(
            kind=body.kind,
            proof=proof_of(body.verification),
            assertion=body.assertion,
            email=body.email,
            password=body.password,
            email_code=body.email_code,
        ),
        who,
    )
    return {"kind": body.kind.value, "display": display}


@router.post("/me/login-methods/{kind}/unbind", status_code=204)
async def unbind_method(
    kind: LoginMethodKind,
    body: Annotated[ProofIn | None, Body()] = None,
    who: Caller = Depends(caller),
    ctx: IdentityContext = Depends(context),
) -> None:
    """Unbind after identity verification (the body is the proof; none when the session
    stepped up recently); never the only method (LM-4); an MFA device stays (LM-10)."""
    await method_cases.unbind(ctx, account_id_of(who), kind, proof_of(body), who)
