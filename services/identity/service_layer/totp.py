"""The TOTP check (MFA-1, MFA-3, PROT-2): a code of the account's MFA device, accepted once.

Order of a check: the code must be six digits (else refused, not counted); then it counts in
the account's failure budget shared with passwords and one-time codes (counted_guess: a
guess spends it whatever the answer); the secret is decrypted and the code matched against
the steps -1, 0, +1; the matched step is claimed in Redis, atomically, so of two submissions
of one code only one passes; a replay is refused, logged and emitted (MfaCodeReplayed: the
owner is told) and stays a counted failure.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Final

import redis.exceptions

from services.identity.domain.errors import MfaNotBound, MfaUnavailable, TotpInvalid, TotpReplayed
from services.identity.domain.totp import matching_step, well_formed
from services.identity.service_layer.context import IdentityContext
from services.identity.service_layer.events import emit
from services.identity.service_layer.failure_budget import counted_guess
from services.identity.service_layer.ports import MfaDevice, MfaDeviceState, SecretUnreadable
from shared.events import MfaCodeReplayed, MfaCodeUse
from shared.logging import get_logger

log = get_logger(__name__)

TOTP: Final = "totp"
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


async def active_device(ctx: IdentityContext, account_id: int) -> MfaDevice:
    """The account's active MFA device, or MfaNotBound naming the alternatives (PROT-2)."""
    async with ctx.runtime.engine.connect() as conn:
        device = await ctx.mfa_devices.get(conn, account_id)
    if device is None or device.state is not MfaDeviceState.ACTIVE:
        raise MfaNotBound(
            "The account has no MFA device: verify with `sms` or `email` instead.",
            details={"factor": TOTP, "alternatives": ["sms", "email"]},
        )
    return device


async def check_totp(
    ctx: IdentityContext,
    account_id: int,
    code: str,
    *,
    during: MfaCodeUse = MfaCodeUse.OPERATION,
) -> None:
    """PROT-2's `totp` factor: the active device's code, once. TotpInvalid, TotpReplayed,
    LoginLockedUntilReset (the budget is spent), MfaNotBound or MfaUnavailable."""
    await prove_code(ctx, await active_device(ctx, account_id), code, during=during)


async def prove_code(
    ctx: IdentityContext, device: MfaDevice, code: str, *, during: MfaCodeUse
) -> int:
    """Check `code` against the device (active, or pending for its confirmation) and claim
    its step; returns the step."""
    if not well_formed(code):
        raise TotpInvalid("A TOTP code is 6 digits.", details={"factor": TOTP})
    account_id = device.account_id
    claimed: list[int] = []
    secret: list[str] = []

    async def compare() -> None:
        try:
            plain = ctx.secret_box.open(device.sealed, account_id=account_id).decode("ascii")
        except SecretUnreadable:
            log.error("mfa_secret_unreadable", account_id=str(account_id), key=device.sealed.key_id)
            raise MfaUnavailable("TOTP codes cannot be checked right now.") from None
        step = matching_step(plain, code, ctx.now())
        if step is None:
            raise TotpInvalid("The code is not right.", details={"factor": TOTP})
        if not await ctx.totp_window.claim(account_id, step):
            # A right code used before: someone may have seen it. It stays a failure.
            await _record_replay(ctx, account_id, during)
            raise TotpReplayed(
                "This code was already used: wait for the next one.", details={"factor": TOTP}
            )
        claimed.append(step)
        secret.append(plain)

    try:
        await counted_guess(
            ctx,
            SimpleNamespace(account_id=account_id),  # all counted_guess reads of the account
            compare,
            wrong=(TotpInvalid, TotpReplayed),
            not_compared=(MfaUnavailable,),  # no key opened the secret: no guess was made
        )
    except REDIS_DOWN:
        raise MfaUnavailable("TOTP codes cannot be checked right now; try again.") from None
    if device.sealed.key_id != ctx.secret_box.current_key_id:
        await _reseal(ctx, device, secret[0])
    return claimed[0]


async def _reseal(ctx: IdentityContext, device: MfaDevice, secret: str) -> None:
    """After a key rotation, a secret moves to the current key at its next use, so the old
    key can leave the ring once no row names it."""
    sealed = ctx.secret_box.seal(secret.encode("ascii"), account_id=device.account_id)
    async with ctx.runtime.uow() as uow:
        await ctx.mfa_devices.reseal(uow.conn, device.account_id, device.sealed, sealed)


async def _record_replay(ctx: IdentityContext, account_id: int, during: MfaCodeUse) -> None:
    now = ctx.now()
    log.warning("totp_replayed", account_id=str(account_id), during=during.value)
    async with ctx.runtime.uow() as uow:
        await emit(uow, account_id, MfaCodeReplayed(at=now, during=during))
