"""Binding and unbinding login methods (LM-1..LM-11), each after identity verification."""

from __future__ import annotations

from dataclasses import dataclass

from services.identity.adapters import repository as repo
from services.identity.domain.channels import email_key, normalise_email
from services.identity.domain.codes import CodePurpose
from services.identity.domain.login_methods import Identity, check_can_unbind, quota
from services.identity.domain.passwords import check_password
from services.identity.service_layer.codes import check_code, verify_identity
from services.identity.service_layer.context import IdentityContext
from services.identity.service_layer.events import emit, publish_contacts
from services.identity.service_layer.registration import require, third_party_identity
from shared.events import (
    Channel,
    LoginMethodBound,
    LoginMethodKind,
    LoginMethodUnbound,
    SecureEmailChanged,
)
from shared.masking import mask_email


@dataclass(frozen=True)
class Proof:
    """PROT-2: a code from the secure phone (sms) or secure email (email)."""

    channel: Channel
    code: str


@dataclass(frozen=True)
class Bind:
    kind: LoginMethodKind
    proof: Proof
    assertion: str | None = None
    email: str | None = None
    password: str | None = None
    email_code: str | None = None


async def bind(ctx: IdentityContext, account_id: int, request: Bind) -> str:
    """Bind a method; returns its masked display."""
    password_hash: str | None = None
    if request.kind is LoginMethodKind.EMAIL:
        # LM-6: new email + new password + the code sent to that email.
        email = normalise_email(require(request.email, "email"))
        check_password(require(request.password, "password"), email=email)
        identity, display = Identity(LoginMethodKind.EMAIL, email_key(email)), mask_email(email)
    else:
        identity, display = await third_party_identity(
            ctx, request.kind, require(request.assertion, "assertion")
        )
    async with ctx.runtime.engine.connect() as conn:
        account = await repo.get_account(conn, account_id)
    await verify_identity(ctx, account, request.proof.channel, request.proof.code)
    if request.kind is LoginMethodKind.EMAIL:
        await check_code(
            ctx, CodePurpose.BIND_EMAIL, email, require(request.email_code, "email_code")
        )
        password_hash = await ctx.hasher.hash(require(request.password, "password"))
    now = ctx.now()
    limit = quota(identity.kind, ctx.settings.wechat_accounts_per_person)
    async with ctx.runtime.uow() as uow:
        await repo.bind_method(uow.conn, account_id, identity, display=display, limit=limit, at=now)
        if password_hash is not None:
            await repo.update_account(uow.conn, account_id, password_hash=password_hash)
        await emit(
            uow,
            account_id,
            LoginMethodBound(kind=identity.kind, identifier_masked=display, bound_at=now),
        )
        if request.kind is LoginMethodKind.EMAIL and account.secure_email is None:
            # As at registration: a proven login email is the secure email when there is
            # none, so the account can reset its password by email (PWD-3).
            await repo.update_account(uow.conn, account_id, secure_email=email)
            await emit(uow, account_id, SecureEmailChanged(email_masked=display, at=now))
            await publish_contacts(uow, await repo.get_account(uow.conn, account_id))
    return display


async def unbind(
    ctx: IdentityContext, account_id: int, kind: LoginMethodKind, proof: Proof
) -> None:
    """LM-4: never the only method. LM-10: MFA devices are untouched."""
    async with ctx.runtime.engine.connect() as conn:
        account = await repo.get_account(conn, account_id)
        bound = [LoginMethodKind(r.kind) for r in await repo.methods_of(conn, account_id)]
    check_can_unbind(kind, bound)  # before spending the code
    await verify_identity(ctx, account, proof.channel, proof.code)
    now = ctx.now()
    async with ctx.runtime.uow() as uow:
        removed = await repo.unbind_method(uow.conn, account_id, kind)
        await emit(
            uow,
            account_id,
            LoginMethodUnbound(kind=kind, identifier_masked=removed.display, unbound_at=now),
        )
