"""Flows (LOGIN-5, PROT-1, PROT-2): a login waiting for its second factor, or a step-up of
the caller's session; both are completed the same way."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from services.identity.domain.flows import FlowKind
from services.identity.entrypoints.dependencies import caller, client_ip, context, optional_caller
from services.identity.entrypoints.routers.schemas import ChannelIn, FlowCompleteIn
from services.identity.entrypoints.routers.sessions import logged_in
from services.identity.service_layer import flows as flow_cases
from services.identity.service_layer import login as login_cases
from services.identity.service_layer.context import IdentityContext
from shared.auth import Caller

router = APIRouter(tags=["flows"])

FlowId = Annotated[uuid.UUID, Path(description="The flow's id.")]


@router.post("/me/step-up", status_code=201)
async def start_step_up(
    who: Caller = Depends(caller), ctx: IdentityContext = Depends(context)
) -> dict[str, Any]:
    """PROT-1: start proving a second factor for this session; complete the flow, then use
    the access token it returns for protected operations here and in other services."""
    return {"flow": (await flow_cases.begin_step_up(ctx, who)).as_dict()}


@router.get("/flows/{flow_id}")
async def show_flow(
    flow_id: FlowId,
    who: Caller | None = Depends(optional_caller),
    ctx: IdentityContext = Depends(context),
) -> dict[str, Any]:
    """A flow's state, assurance level and the second factors the account can use."""
    return {"flow": (await flow_cases.show(ctx, flow_id, who)).as_dict()}


@router.post("/flows/{flow_id}/codes", status_code=202)
async def send_flow_code(
    flow_id: FlowId,
    body: ChannelIn,
    who: Caller | None = Depends(optional_caller),
    ctx: IdentityContext = Depends(context),
) -> dict[str, Any]:
    """PROT-2: a code to the account's secure phone (sms) or secure email (email)."""
    return await flow_cases.send_flow_code(ctx, flow_id, body.channel, who)


@router.post("/flows/{flow_id}/complete")
async def complete_flow(
    flow_id: FlowId,
    body: FlowCompleteIn,
    request: Request,
    who: Caller | None = Depends(optional_caller),
    ctx: IdentityContext = Depends(context),
) -> dict[str, Any]:
    """Prove the second factor. A login flow answers with the session (and, with
    `trust_device`, the device skips the second factor for TRUSTED_DEVICE_DAYS); a step-up
    flow with a new access token whose `amr` and `step_up_at` prove the factor."""
    flow, account = await flow_cases.load(ctx, flow_id, who)
    if flow.kind is FlowKind.STEP_UP:
        done = await flow_cases.complete(ctx, flow, account, body.factor, body.code, who)
        return {
            "access_token": done.access_token,
            "token_type": "Bearer",
            "expires_in_s": ctx.sessions.access_ttl_s,
            "amr": list(done.amr),
        }
    client = login_cases.Client(
        device_id=flow.device_id,
        ip=client_ip(request),
        device_credential=body.device_credential,
    )
    session = await login_cases.complete_login(
        ctx, flow, account, body.factor, body.code, trust_device=body.trust_device, client=client
    )
    return logged_in(session)
