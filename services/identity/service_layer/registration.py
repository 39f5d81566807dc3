"""Registration (ACC-1, REG-1..6): validate, prove the channels, store, publish — atomically.
The login method registered with is a strategy (strategies/methods.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.identity.domain.accounts import check_language
from services.identity.domain.channels import normalise_mobile
from services.identity.domain.codes import CodePurpose
from services.identity.domain.errors import SecurePhoneQuotaExceeded
from services.identity.domain.login_methods import QuotaExceeded, quota
from services.identity.service_layer.codes import check_code
from services.identity.service_layer.context import IdentityContext
from services.identity.service_layer.events import emit, publish_contacts
from services.identity.service_layer.login_methods import add_method
from services.identity.strategies.base import Presented
from services.identity.strategies.methods import METHODS
from shared.events import AccountRegistered, LoginMethodKind
from shared.masking import mask_email


@dataclass(frozen=True)
class Registration:
    method: LoginMethodKind
    phone: str
    phone_code: str
    language: str = "zh-CN"
    email: str | None = None
    password: str | None = None
    email_code: str | None = None
    assertion: str | None = None


@dataclass(frozen=True)
class Registered:
    account_id: str
    method: LoginMethodKind
    login: str
    registered_at: datetime


async def register(ctx: IdentityContext, request: Registration) -> Registered:
    """A new account whose first login method is the one it registered with (REG-1)."""
    language = check_language(request.language)
    phone = normalise_mobile(request.phone, field="phone")
    method = METHODS[request.method]
    presented = Presented(
        email=request.email,
        password=request.password,
        email_code=request.email_code,
        assertion=request.assertion,
    )
    claim = await method.claim(ctx, presented)
    identity, email = claim.identity, claim.email
    # The codes come before the quota (REG-4): only whoever holds the mailbox and the phone
    # may learn that an email is taken, never an anonymous caller with a guessed address.
    await method.prove(ctx, claim, presented, CodePurpose.REGISTER)
    await check_code(ctx, CodePurpose.REGISTER, phone, request.phone_code)
    limit = quota(identity.kind, ctx.settings.wechat_accounts_per_person)
    async with ctx.runtime.engine.connect() as conn:
        if len(await ctx.repo.accounts_with(conn, identity.kind, identity.identifier)) >= limit:
            raise QuotaExceeded(
                f"This {identity.kind.value} identity is already bound to the most accounts "
                "it may be.",
                details={"kind": identity.kind.value, "limit": limit},
            )
    password_hash = await ctx.hasher.hash(claim.password) if claim.password is not None else None

    now = ctx.now()
    async with ctx.runtime.uow() as uow:
        account_id = await ctx.repo.new_account_id(uow.conn)
        await ctx.repo.lock_identifier(uow.conn, "phone", phone)
        if (
            await ctx.repo.count_secure_phone(uow.conn, phone)
            >= ctx.settings.secure_phone_max_accounts
        ):
            raise SecurePhoneQuotaExceeded(
                f"This phone already guards {ctx.settings.secure_phone_max_accounts} accounts.",
                details={"limit": ctx.settings.secure_phone_max_accounts},
            )
        await ctx.repo.insert_account(
            uow.conn,
            account_id,
            language=language,
            password_hash=password_hash,
            secure_phone=phone,
            # The login email is proven by its code: it is the secure email too, so the
            # account can reset its password and verify its identity by email (PWD-3, PROT-2).
            secure_email=email,
            contact_email=email,
            real_name_status="unverified",
            registered_at=now,
        )
        await add_method(
            ctx, uow.conn, account_id, identity, display=claim.display, limit=limit, at=now
        )
        account = await ctx.repo.get_account(uow.conn, account_id)
        # Contacts first: the notifier should know where to write before it hears of the account.
        await publish_contacts(uow, account)
        await emit(
            uow,
            account_id,
            AccountRegistered(
                registered_at=now,
                method=identity.kind,
                email_masked=mask_email(email) if email else None,
                language=language,
            ),
        )
    return Registered(str(account_id), identity.kind, claim.display, now)
