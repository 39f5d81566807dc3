"""Login and step-up flows (LOGIN-5, LOGIN-6, PROT-1, PROT-2).

A login whose account has login protection on (and whose device is not trusted) stops after
the first factor: the answer is a flow, and completing it with a second factor opens the
session. A step-up flow belongs to a session: completing it records the second factor on
the session, and the access token it returns proves it (`amr`, `step_up_at`) to every
service. Wrong second factors count in the account's failure budget (as every code does)
and in the flow's own small budget, after which the flow is closed.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.identity.domain.codes import CodePurpose
from services.identity.domain.errors import FlowCompleted, FlowFailed, FlowNotFound
from services.identity.domain.flows import (
    Factor,
    Flow,
    FlowKind,
    amr_of,
    available_factors,
    check_factor,
    check_open,
    is_dormant,
)
from services.identity.service_layer.codes import secure_destination, send_code
from services.identity.service_layer.context import IdentityContext
from services.identity.service_layer.factors import verify_factor
from shared.auth import Caller
from shared.errors import AppError
from shared.events import Channel, MfaCodeUse


@dataclass(frozen=True)
class FlowView:
    """What a client sees of a flow: never the account's channels, only the factor names."""

    flow_id: uuid.UUID
    kind: FlowKind
    state: str
    aal: int
    factors: list[Factor]
    expires_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.flow_id),
            "kind": self.kind.value,
            "state": self.state,
            "aal": self.aal,
            "factors": [f.value for f in self.factors],
            "expires_at": self.expires_at,
        }


async def factors_of(ctx: IdentityContext, account: Any) -> list[Factor]:
    async with ctx.runtime.engine.connect() as conn:
        mfa_active = await ctx.repo.mfa_active(conn, account.account_id)
    return available_factors(
        mfa_active=mfa_active,
        secure_phone=account.secure_phone is not None,
        secure_email=account.secure_email is not None,
    )


async def _view(ctx: IdentityContext, flow: Flow, account: Any) -> FlowView:
    return FlowView(
        flow.flow_id,
        flow.kind,
        flow.state(ctx.now()),
        flow.aal,
        await factors_of(ctx, account),
        flow.expires_at,
    )


async def begin(
    ctx: IdentityContext,
    kind: FlowKind,
    account: Any,
    method: str,
    *,
    session_id: str | None = None,
    device_id: str | None = None,
    ip: str | None = None,
) -> FlowView:
    """A new flow at AAL 1: `method` is the first factor already proven."""
    now = ctx.now()
    flow = Flow(
        flow_id=uuid.uuid4(),
        kind=kind,
        account_id=account.account_id,
        method=method,
        aal=1,
        amr=(amr_of(method),),
        created_at=now,
        expires_at=now + timedelta(seconds=ctx.settings.flow_ttl_s),
        session_id=session_id,
        device_id=device_id,
    )
    async with ctx.runtime.uow() as uow:
        await ctx.flow_repo.create(uow.conn, flow, ip=ip)
    return await _view(ctx, flow, account)


async def begin_step_up(ctx: IdentityContext, caller: Caller) -> FlowView:
    """PROT-1: a step-up of the caller's session."""
    async with ctx.runtime.engine.connect() as conn:
        account = await ctx.repo.get_account(conn, int(caller.account_id))
    method = caller.amr[0] if caller.amr else "session"
    return await begin(ctx, FlowKind.STEP_UP, account, method, session_id=caller.session_id)


async def load(ctx: IdentityContext, flow_id: uuid.UUID, caller: Caller | None) -> tuple[Flow, Any]:
    """The flow and its account. A step-up flow is visible only to its own session, a login
    flow only without one: anyone else is told it does not exist."""
    async with ctx.runtime.engine.connect() as conn:
        flow = await ctx.flow_repo.get(conn, flow_id)
        account = await ctx.repo.get_account(conn, flow.account_id)
    if flow.kind is FlowKind.STEP_UP and (
        caller is None
        or caller.session_id != flow.session_id
        or caller.account_id != str(flow.account_id)
    ):
        raise FlowNotFound("No such flow.")
    return flow, account


async def show(ctx: IdentityContext, flow_id: uuid.UUID, caller: Caller | None) -> FlowView:
    flow, account = await load(ctx, flow_id, caller)
    return await _view(ctx, flow, account)


async def send_flow_code(
    ctx: IdentityContext, flow_id: uuid.UUID, channel: Channel, caller: Caller | None
) -> dict[str, Any]:
    """PROT-2: a code to the account's secure phone or secure email, for this flow."""
    flow, account = await load(ctx, flow_id, caller)
    check_open(flow, ctx.now())
    check_factor(Factor(channel.value), await factors_of(ctx, account))
    return await send_code(
        ctx,
        CodePurpose.SECOND_FACTOR,
        channel,
        secure_destination(account, channel),
        language=account.language,
        account_id=str(account.account_id),
    )


def failures_key(ctx: IdentityContext, flow_id: uuid.UUID | str) -> str:
    """Redis: the flow's wrong second factors."""
    return f"{ctx.settings.redis_key_prefix}flow:{flow_id}:failures"


async def _prove(ctx: IdentityContext, flow: Flow, account: Any, factor: Factor, code: str) -> None:
    """The second factor, under the flow's own failure budget."""
    key = failures_key(ctx, flow.flow_id)
    failures = int(await ctx.runtime.redis.get(key) or 0)
    if failures >= ctx.settings.flow_max_failures:
        raise FlowFailed("Too many wrong second factors: this flow is closed. Start again.")
    try:
        await verify_factor(
            ctx,
            account,
            factor,
            code,
            purpose=CodePurpose.SECOND_FACTOR,
            during=MfaCodeUse(flow.kind.value),
        )
    except AppError as wrong:
        if wrong.code in WRONG_FACTOR:
            async with ctx.runtime.redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, ctx.settings.flow_ttl_s)
                await pipe.execute()
        raise


@dataclass(frozen=True)
class Completed:
    """A completed flow: for a login, what it logged in with; for a step-up, the session's
    new access token."""

    flow: Flow
    account: Any
    amr: tuple[str, ...]
    access_token: str | None = None


# Refusals of a second factor that was tried and wrong (not expired, not rate-limited).
WRONG_FACTOR = frozenset({"CODE_INVALID", "TOTP_INVALID", "TOTP_REPLAYED"})


async def complete(
    ctx: IdentityContext,
    flow: Flow,
    account: Any,
    factor: Factor,
    code: str,
    caller: Caller | None,
) -> Completed:
    """Prove a second factor and complete the (loaded) flow, exactly once."""
    now = ctx.now()
    check_open(flow, now)
    check_factor(factor, await factors_of(ctx, account))
    await _prove(ctx, flow, account, factor, code)
    amr = (*flow.amr, amr_of(factor))
    async with ctx.runtime.uow() as uow:
        if not await ctx.flow_repo.complete(uow.conn, flow.flow_id, amr=amr, at=ctx.now()):
            raise FlowCompleted("This flow is already complete: start a new one.")
    if flow.kind is FlowKind.STEP_UP:
        assert caller is not None  # _load let only the flow's own session through
        token = await ctx.sessions.step_up(caller, amr_of(factor), ctx.now())
        return Completed(flow, account, amr, token)
    return Completed(flow, account, amr)


# --- devices (LOGIN-5, LOGIN-6) ------------------------------------------------------------


@dataclass(frozen=True)
class DeviceCheck:
    """What a login learnt of the client's device credential."""

    device_pk: uuid.UUID | None  # the account's device holding the credential, if any
    trusted: bool


async def check_device(
    ctx: IdentityContext, account_id: int, credential: str | None
) -> DeviceCheck:
    if not credential:
        return DeviceCheck(None, False)  # no device to look up: no connection either
    async with ctx.runtime.reader.connect() as conn:
        device = await ctx.device_repo.find(conn, account_id, credential)
    if device is None:
        return DeviceCheck(None, False)
    trusted = device.trusted_until is not None and device.trusted_until > ctx.now()
    return DeviceCheck(device.device_pk, trusted)


@dataclass(frozen=True)
class DeviceOutcome:
    new_device: bool
    dormant: bool
    credential: str | None  # a newly issued credential, returned to the client once
    trusted_until: datetime | None = None


async def settle_device(
    ctx: IdentityContext,
    conn: Any,
    account: Any,
    device: DeviceCheck,
    *,
    label: str | None,
    trust: bool,
    now: datetime,
) -> DeviceOutcome:
    """On a successful login: issue a credential to a device the account does not know
    (LOGIN-6), trust it for TRUSTED_DEVICE_DAYS when asked (LOGIN-5)."""
    credential: str | None = None
    device_pk = device.device_pk
    if device_pk is None:
        credential = secrets.token_urlsafe(32)
        device_pk = await ctx.device_repo.issue(
            conn, account.account_id, credential, label=label, at=now
        )
    else:
        await ctx.device_repo.seen(conn, device_pk, at=now)
    until = None
    if trust:
        until = now + timedelta(days=ctx.settings.trusted_device_days)
        await ctx.device_repo.trust(conn, device_pk, until=until)
    dormant = is_dormant(account.last_login_at, now, days=ctx.settings.login_dormant_days)
    return DeviceOutcome(device.device_pk is None, dormant, credential, until)
