"""The MFA device's life (MFA-1, 2, 4, 5, 6): bind, confirm, unbind by the owner or by an
operator after a review. The secret is shown once, at binding; after that it exists only as
ciphertext in mfa_devices and as plaintext in memory while a code is checked.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime

from services.identity.domain.errors import MfaAlreadyBound, MfaNotBound
from services.identity.domain.recovery import OperatorAction
from services.identity.domain.totp import new_secret, otpauth_uri
from services.identity.service_layer.context import IdentityContext
from services.identity.service_layer.events import emit
from services.identity.service_layer.ports import MfaDeviceState as DeviceState
from services.identity.service_layer.protection import Proof, require_verification
from services.identity.service_layer.totp import REDIS_DOWN, prove_code
from shared.auth import Caller
from shared.events import MfaBound, MfaCodeUse, MfaUnbound, MfaUnboundBy
from shared.logging import get_logger

log = get_logger(__name__)

OPERATOR_UNBIND = OperatorAction.MFA_UNBOUND


@dataclass(frozen=True)
class Enrolment:
    """What a binding shows once: the secret, as an otpauth URI and as base32 text (the
    route draws the URI's QR code)."""

    otpauth_uri: str
    secret: str


@dataclass(frozen=True)
class MfaStatus:
    state: DeviceState | None
    activated_at: datetime | None


async def status(ctx: IdentityContext, account_id: int) -> MfaStatus:
    """Whether the account has a device and since when; never its secret."""
    async with ctx.runtime.engine.connect() as conn:
        await ctx.repo.get_account(conn, account_id)
        device = await ctx.mfa_devices.get(conn, account_id)
    if device is None:
        return MfaStatus(None, None)
    return MfaStatus(device.state, device.activated_at)


async def bind(ctx: IdentityContext, caller: Caller, proof: Proof | None) -> Enrolment:
    """MFA-2: after identity verification (a proof, or a fresh step-up), a new secret for a
    pending device (replacing a pending one); it becomes the account's device once a code of
    it is confirmed."""
    account_id = int(caller.account_id)
    async with ctx.runtime.engine.connect() as conn:
        account = await ctx.repo.get_account(conn, account_id)
        device = await ctx.mfa_devices.get(conn, account_id)
    if device is not None and device.state is DeviceState.ACTIVE:
        raise _already_bound()
    await require_verification(ctx, account, caller, proof)
    secret = new_secret()
    sealed = ctx.secret_box.seal(secret.encode("ascii"), account_id=account_id)
    async with ctx.runtime.uow() as uow:
        if not await ctx.mfa_devices.put_pending(uow.conn, account_id, sealed, ctx.now()):
            raise _already_bound()
    uri = otpauth_uri(secret, account_name=str(account_id), issuer=ctx.settings.mfa_issuer)
    return Enrolment(otpauth_uri=uri, secret=secret)


async def confirm(ctx: IdentityContext, account_id: int, code: str) -> datetime:
    """MFA-2: one valid code of the pending device binds it (MfaBound). Its step is used up,
    so the same code cannot serve again as a proof."""
    async with ctx.runtime.engine.connect() as conn:
        await ctx.repo.get_account(conn, account_id)
        device = await ctx.mfa_devices.get(conn, account_id)
    if device is None:
        raise MfaNotBound("No MFA binding in progress: start one with POST /v1/me/mfa.")
    if device.state is DeviceState.ACTIVE:
        raise _already_bound()
    await prove_code(ctx, device, code, during=MfaCodeUse.OPERATION)
    now = ctx.now()
    async with ctx.runtime.uow() as uow:
        if not await ctx.mfa_devices.activate(uow.conn, account_id, device.sealed, now):
            # Another bind replaced the secret, or a parallel confirmation won.
            raise MfaNotBound("This binding was replaced: scan the newest QR code.")
        await emit(uow, account_id, MfaBound(bound_at=now))
    log.info("mfa_bound", account_id=str(account_id))
    return now


async def unbind(ctx: IdentityContext, caller: Caller, proof: Proof | None) -> None:
    """MFA-2: unbinding needs identity verification (any factor, the device's code too, or a
    fresh step-up)."""
    account_id = int(caller.account_id)
    async with ctx.runtime.engine.connect() as conn:
        account = await ctx.repo.get_account(conn, account_id)
        device = await ctx.mfa_devices.get(conn, account_id)
    if device is None or device.state is not DeviceState.ACTIVE:
        raise MfaNotBound("The account has no MFA device.")
    await require_verification(ctx, account, caller, proof)
    await _remove(ctx, account_id, MfaUnboundBy.OWNER)


async def operator_unbind(
    ctx: IdentityContext, account_id: int, *, operator_id: str, reason: str
) -> None:
    """MFA-4: support unbinds a lost device after a manual review; the decision is kept in
    operator_actions with the operator and the reason, in the same transaction."""
    await _remove(ctx, account_id, MfaUnboundBy.OPERATOR, operator_id=operator_id, reason=reason)


async def _remove(
    ctx: IdentityContext,
    account_id: int,
    by: MfaUnboundBy,
    *,
    operator_id: str | None = None,
    reason: str | None = None,
) -> None:
    now = ctx.now()
    async with ctx.runtime.uow() as uow:
        await ctx.repo.get_account(uow.conn, account_id, for_update=True)
        if not await ctx.mfa_devices.remove_active(uow.conn, account_id):
            raise MfaNotBound("The account has no MFA device.")
        if operator_id is not None:
            await ctx.appeals.record_operator_action(
                uow.conn,
                at=now,
                operator_id=operator_id,
                action=OPERATOR_UNBIND.value,
                account_id=account_id,
                subject="mfa",
                reason=reason,
            )
        await emit(uow, account_id, MfaUnbound(by=by, unbound_at=now))
    log.info("mfa_unbound", account_id=str(account_id), by=by.value, operator=operator_id)
    with contextlib.suppress(*REDIS_DOWN):  # the key expires by itself within a few steps
        await ctx.totp_window.forget(account_id)


def _already_bound() -> MfaAlreadyBound:
    return MfaAlreadyBound("The account already has an MFA device: unbind it first.")
