"""Registration (ACC-1, REG-1..6): validate, prove the channels, store, publish — atomically."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.identity.adapters import repository as repo
from services.identity.adapters.providers import ACCOUNT_SERVICE_PERMISSION
from services.identity.domain.accounts import check_language
from services.identity.domain.channels import email_key, normalise_email, normalise_mobile
from services.identity.domain.codes import CodePurpose
from services.identity.domain.errors import (
    AuthorizationRevoked,
    MissingField,
    PermissionsIncomplete,
    SecurePhoneQuotaExceeded,
)
from services.identity.domain.login_methods import Identity, QuotaExceeded, quota
from services.identity.domain.passwords import check_password
from services.identity.service_layer.codes import check_code
from services.identity.service_layer.context import IdentityContext
from services.identity.service_layer.events import emit, publish_contacts
from shared.events import AccountRegistered, LoginMethodKind
from shared.masking import mask_email, mask_identifier


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


def require(value: str | None, field: str) -> str:
    if not value:
        raise MissingField(f"`{field}` is required for this method.", details={"field": field})
    return value


def usable_official_account(identity: object) -> None:
    """LM-9: a revoked or incomplete authorization cannot register, bind or log in."""
    if getattr(identity, "authorization_revoked", False):
        raise AuthorizationRevoked(
            "Authorization revoked on the WeChat side: authorize again, or unbind and bind "
            "again with all permissions."
        )
    if ACCOUNT_SERVICE_PERMISSION not in getattr(identity, "permissions", frozenset()):
        raise PermissionsIncomplete(
            "Permissions incomplete: the account-service permission is required. Authorize "
            "again granting every permission."
        )


async def third_party_identity(
    ctx: IdentityContext, kind: LoginMethodKind, assertion: str
) -> tuple[Identity, str]:
    """REG-6: verify the provider's assertion; returns the identity and its masked display."""
    verified = ctx.idp.verify(kind, assertion)
    if kind is LoginMethodKind.OFFICIAL_ACCOUNT:
        usable_official_account(verified)
    return Identity(kind, verified.subject, verified.subtype), mask_identifier(verified.subject)


async def register(ctx: IdentityContext, request: Registration) -> Registered:
    """A new account whose first login method is the one it registered with (REG-1)."""
    language = check_language(request.language)
    phone = normalise_mobile(request.phone, field="phone")
    email: str | None = None
    password_hash: str | None = None
    if request.method is LoginMethodKind.EMAIL:
        email = normalise_email(require(request.email, "email"))
        check_password(require(request.password, "password"), email=email)
        identity = Identity(LoginMethodKind.EMAIL, email_key(email))
        display = mask_email(email)
    else:
        identity, display = await third_party_identity(
            ctx, request.method, require(request.assertion, "assertion")
        )
    # The codes come before the quota (REG-4): only whoever holds the mailbox and the phone
    # may learn that an email is taken, never an anonymous caller with a guessed address.
    if email is not None:
        await check_code(
            ctx, CodePurpose.REGISTER, email, require(request.email_code, "email_code")
        )
    await check_code(ctx, CodePurpose.REGISTER, phone, request.phone_code)
    limit = quota(identity.kind, ctx.settings.wechat_accounts_per_person)
    async with ctx.runtime.engine.connect() as conn:
        if len(await repo.accounts_with(conn, identity.kind, identity.identifier)) >= limit:
            raise QuotaExceeded(
                f"This {identity.kind.value} identity is already bound to the most accounts "
                "it may be.",
                details={"kind": identity.kind.value, "limit": limit},
            )
    if email is not None:
        password_hash = await ctx.hasher.hash(require(request.password, "password"))

    now = ctx.now()
    async with ctx.runtime.uow() as uow:
        account_id = await repo.new_account_id(uow.conn)
        await repo.lock_identifier(uow.conn, "phone", phone)
        if await repo.count_secure_phone(uow.conn, phone) >= ctx.settings.secure_phone_max_accounts:
            raise SecurePhoneQuotaExceeded(
                f"This phone already guards {ctx.settings.secure_phone_max_accounts} accounts.",
                details={"limit": ctx.settings.secure_phone_max_accounts},
            )
        await repo.insert_account(
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
        await repo.bind_method(uow.conn, account_id, identity, display=display, limit=limit, at=now)
        account = await repo.get_account(uow.conn, account_id)
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
    return Registered(str(account_id), identity.kind, display, now)
