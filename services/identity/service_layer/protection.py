"""Protection (PROT-1, PROT-2): the account's login and operation protection settings, and
the gate every protected operation passes: identity verification by a proof in the request
or by a second factor the caller's session proved recently (a step-up)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.identity.domain.errors import VerificationRequired
from services.identity.domain.flows import Factor
from services.identity.service_layer.context import IdentityContext
from services.identity.service_layer.events import emit
from services.identity.service_layer.factors import verify_factor
from shared.auth import STEP_UP_ENDPOINT, Caller
from shared.events import ProtectionChanged


@dataclass(frozen=True)
class Proof:
    """PROT-2: a second factor sent with the request itself."""

    factor: Factor
    code: str


async def require_verification(
    ctx: IdentityContext, account: Any, caller: Caller | None, proof: Proof | None
) -> None:
    """PROT-2: the owner proves it is them, by a proof in the request or by a session that
    proved a second factor in the last STEP_UP_MAX_AGE_S. Nothing is counted without a
    proof."""
    if proof is not None:
        await verify_factor(ctx, account, proof.factor, proof.code)
        return
    max_age = ctx.settings.step_up_max_age_s
    if caller is not None and caller.stepped_up_within(max_age, now=ctx.now().timestamp()):
        return
    raise VerificationRequired(
        "This operation needs identity verification: send `proof` (totp, sms or email), "
        f"or step up first ({STEP_UP_ENDPOINT}) and use its token.",
        details={"step_up": STEP_UP_ENDPOINT, "max_age_s": max_age},
    )


async def require_if_protected(
    ctx: IdentityContext, account: Any, caller: Caller | None, proof: Proof | None
) -> None:
    """PROT-1: operations that need verification only under operation protection (a
    password change); a proof sent anyway is checked."""
    if account.operation_protection or proof is not None:
        await require_verification(ctx, account, caller, proof)


async def account_of(ctx: IdentityContext, caller: Caller) -> Any:
    async with ctx.runtime.engine.connect() as conn:
        return await ctx.repo.get_account(conn, int(caller.account_id))


async def set_protection(
    ctx: IdentityContext,
    caller: Caller,
    *,
    login: bool | None,
    operation: bool | None,
    proof: Proof | None,
) -> Any:
    """PROT-1: turning a protection on needs nothing more than the session; turning one off
    is itself protected (a stolen session must not be able to switch the second factor off)
    and tells the owner (ProtectionChanged)."""
    account_id = int(caller.account_id)
    async with ctx.runtime.engine.connect() as conn:
        account = await ctx.repo.get_account(conn, account_id)
    new_login = account.login_protection if login is None else login
    new_operation = account.operation_protection if operation is None else operation
    turning_off = (account.login_protection and not new_login) or (
        account.operation_protection and not new_operation
    )
    if turning_off:
        await require_verification(ctx, account, caller, proof)
    if (new_login, new_operation) == (account.login_protection, account.operation_protection):
        return account
    async with ctx.runtime.uow() as uow:
        current = await ctx.repo.get_account(uow.conn, account_id, for_update=True)
        await ctx.repo.update_account(
            uow.conn, account_id, login_protection=new_login, operation_protection=new_operation
        )
        await emit(
            uow,
            account_id,
            ProtectionChanged(
                login_protection=new_login,
                operation_protection=new_operation,
                login_protection_was=current.login_protection,
                operation_protection_was=current.operation_protection,
                changed_at=ctx.now(),
            ),
        )
        return await ctx.repo.get_account(uow.conn, account_id)
