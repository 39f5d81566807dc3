"""Binding and unbinding login methods (LM-1..LM-11), each after identity verification; the
method is a strategy (strategies/methods.py), the verification a second factor's (factors.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from services.identity.domain.codes import CodePurpose
from services.identity.domain.login_methods import (
    Identity,
    check_can_bind,
    check_can_unbind,
    quota,
)
from services.identity.service_layer.context import IdentityContext
from services.identity.service_layer.events import emit, publish_contacts
from services.identity.service_layer.protection import Proof, require_verification
from services.identity.strategies.base import Presented
from services.identity.strategies.methods import METHODS
from shared.auth import Caller
from shared.events import (
    LoginMethodBound,
    LoginMethodKind,
    LoginMethodUnbound,
    SecureEmailChanged,
)


@dataclass(frozen=True)
class Bind:
    kind: LoginMethodKind
    proof: Proof | None  # None: the caller's session stepped up recently
    assertion: str | None = None
    email: str | None = None
    password: str | None = None
    email_code: str | None = None


async def add_method(
    ctx: IdentityContext,
    conn: AsyncConnection,
    account_id: int,
    identity: Identity,
    *,
    display: str,
    limit: int,
    at: datetime,
) -> None:
    """LM-1, LM-2, LM-8 checked and the method stored, atomically: call inside the unit of
    work that stores the rest (the account row and the identifier stay locked until then)."""
    await ctx.repo.get_account(conn, account_id, for_update=True)
    await ctx.repo.lock_identifier(conn, identity.kind.value, identity.identifier)
    bound = {
        LoginMethodKind(r.kind): r.subtype for r in await ctx.repo.methods_of(conn, account_id)
    }
    elsewhere = len(await ctx.repo.accounts_with(conn, identity.kind, identity.identifier))
    check_can_bind(identity, bound, elsewhere, limit)
    await ctx.repo.insert_method(conn, account_id, identity, display=display, limit=limit, at=at)


async def bind(
    ctx: IdentityContext, account_id: int, request: Bind, caller: Caller | None = None
) -> str:
    """Bind a method (LM-6: an email with a new password and the email's code; a provider
    by its assertion) after identity verification (LM-3: a proof, or the caller's recent
    step-up); returns its masked display."""
    method = METHODS[request.kind]
    presented = Presented(
        email=request.email,
        password=request.password,
        email_code=request.email_code,
        assertion=request.assertion,
    )
    claim = await method.claim(ctx, presented)
    identity, display = claim.identity, claim.display
    async with ctx.runtime.engine.connect() as conn:
        account = await ctx.repo.get_account(conn, account_id)
    await require_verification(ctx, account, caller, request.proof)
    await method.prove(ctx, claim, presented, CodePurpose.BIND_EMAIL)
    password_hash = await ctx.hasher.hash(claim.password) if claim.password is not None else None
    now = ctx.now()
    limit = quota(identity.kind, ctx.settings.wechat_accounts_per_person)
    async with ctx.runtime.uow() as uow:
        await add_method(ctx, uow.conn, account_id, identity, display=display, limit=limit, at=now)
        if password_hash is not None:
            await ctx.repo.update_account(uow.conn, account_id, password_hash=password_hash)
        await emit(
            uow,
            account_id,
            LoginMethodBound(kind=identity.kind, identifier_masked=display, bound_at=now),
        )
        if claim.email is not None and account.secure_email is None:
            # As at registration: a proven login email is the secure email when there is
            # none, so the account can reset its password by email (PWD-3).
            await ctx.repo.update_account(uow.conn, account_id, secure_email=claim.email)
            await emit(uow, account_id, SecureEmailChanged(email_masked=display, at=now))
            await publish_contacts(uow, await ctx.repo.get_account(uow.conn, account_id))
    return display


async def unbind(
    ctx: IdentityContext,
    account_id: int,
    kind: LoginMethodKind,
    proof: Proof | None,
    caller: Caller | None = None,
) -> None:
    """LM-4: never the only method. LM-10: MFA devices are untouched."""
    async with ctx.runtime.engine.connect() as conn:
        account = await ctx.repo.get_account(conn, account_id)
        bound = [LoginMethodKind(r.kind) for r in await ctx.repo.methods_of(conn, account_id)]
    check_can_unbind(kind, bound)  # before spending the code
    await require_verification(ctx, account, caller, proof)
    now = ctx.now()
    async with ctx.runtime.uow() as uow:
        await ctx.repo.get_account(uow.conn, account_id, for_update=True)
        methods = {
            LoginMethodKind(r.kind): r for r in await ctx.repo.methods_of(uow.conn, account_id)
        }
        check_can_unbind(kind, list(methods))  # again, under the account's lock
        await ctx.repo.delete_method(uow.conn, account_id, kind)
        removed = methods[kind]
        await emit(
            uow,
            account_id,
            LoginMethodUnbound(kind=kind, identifier_masked=removed.display, unbound_at=now),
        )
