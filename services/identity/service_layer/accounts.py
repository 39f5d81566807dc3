"""The account's own settings: password (PWD-2, PWD-3), secure and contact channels (SEC,
ACC-2), status from other services' events (ACC-3, REG-5)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.identity.domain.accounts import check_language, status_of
from services.identity.domain.channels import (
    email_key,
    login_key,
    normalise_email,
    normalise_mobile,
)
from services.identity.domain.codes import Budget, CodePurpose
from services.identity.domain.errors import (
    CodeRateLimited,
    CodeTriesExhausted,
    NoPassword,
    SecureEmailProofRequired,
    SecurePhoneQuotaExceeded,
    require,
)
from services.identity.domain.flows import Factor
from services.identity.domain.passwords import check_password
from services.identity.service_layer import protection
from services.identity.service_layer.codes import (
    check_code,
    check_decoy_code,
    send_code,
)
from services.identity.service_layer.context import PRODUCER, IdentityContext
from services.identity.service_layer.decoys import NO_ACCOUNT
from services.identity.service_layer.devices import untrust_all
from services.identity.service_layer.events import emit, publish_contacts
from services.identity.service_layer.factors import verify_factor
from services.identity.service_layer.login import Client, checked_password
from shared.auth import Caller
from shared.events import (
    AccountStatusChanged,
    Channel,
    LoginMethodKind,
    NotificationRequested,
    PasswordChanged,
    SecureEmailChanged,
    SecurePhoneChanged,
    Topic,
    new_envelope,
)
from shared.logging import get_logger
from shared.masking import mask_email, mask_phone
from shared.unit_of_work import UnitOfWork

log = get_logger(__name__)


async def change_password(
    ctx: IdentityContext,
    account_id: int,
    current: str,
    new: str,
    *,
    caller: Caller,
    proof: protection.Proof | None,
    client: Client,
) -> None:
    """PWD-2: takes effect at once; the account's other sessions end. The current-password
    check counts like a login attempt (LOGIN-2..4): a stolen session cannot guess it. Under
    operation protection a second factor is asked first (PROT-1)."""
    async with ctx.runtime.engine.connect() as conn:
        account = await ctx.repo.get_account(conn, account_id)
        email = await ctx.repo.login_email(conn, account_id)
    if email is None or account.password_hash is None:
        raise NoPassword("This account does not log in by email, so it has no password.")
    check_password(new, email=email)
    await protection.require_if_protected(ctx, account, caller, proof)

    async def find_account() -> Any:
        async with ctx.runtime.engine.connect() as conn:
            return await ctx.repo.get_account(conn, account_id)

    await checked_password(
        ctx,
        ctx.login_subject(email),
        find_account,
        current,
        method="password_change",
        client=client,
        captcha_passed=True,
        log_in=False,
    )
    await _set_password(ctx, account_id, new, how="change", keep_session=caller.session_id)


async def _set_password(
    ctx: IdentityContext,
    account_id: int,
    new: str,
    *,
    how: str,
    keep_session: str | None,
    lift_lock: str | None = None,
) -> None:
    """The new hash and its event; `lift_lock` (the lockout subject) after a reset."""
    hashed = await ctx.hasher.hash(new)
    async with ctx.runtime.uow() as uow:
        await ctx.repo.update_account(uow.conn, account_id, password_hash=hashed)
        await untrust_all(ctx, uow.conn, account_id)  # LOGIN-5: a new password, no trusted device
        # As the other sessions end, so do the flows a login with the old password began.
        await ctx.flow_repo.expire_pending(
            uow.conn, account_id, at=ctx.now(), keep_session=keep_session
        )
        if lift_lock is not None:
            await ctx.repo.lift_password_lock(uow.conn, account_id)
        await emit(uow, account_id, PasswordChanged(how=how, at=ctx.now()))
    if lift_lock is not None:
        await ctx.guard.unlock(lift_lock)
    await ctx.sessions.close_all(str(account_id), keep=keep_session)


async def _reset_target(ctx: IdentityContext, key: str, channel: Channel) -> tuple[Any, str | None]:
    """The account of a login email and its secure channel of that kind, either maybe None."""
    async with ctx.runtime.engine.connect() as conn:
        account = await ctx.repo.first_account_with(conn, LoginMethodKind.EMAIL, key)
    if account is None:
        return None, None
    return account, account.secure_phone if channel is Channel.SMS else account.secure_email


def reset_budgets(ctx: IdentityContext, key: str, client_ip: str | None) -> list[Budget]:
    """CODE-2: per client IP and per login email, the same whether the email is known."""
    settings = ctx.settings
    return [
        Budget("client", f"reset:{client_ip or 'unknown'}", settings.code_client_per_hour, 3600),
        Budget("identifier", key, settings.code_per_minute, 60),
        Budget("identifier", key, settings.code_per_day, 86400),
    ]


async def request_password_reset(
    ctx: IdentityContext, email: str, channel: Channel, *, client_ip: str | None = None
) -> None:
    """PWD-3: a code to the secure phone or email. Every refusal a caller can see (bad input,
    the client's and the email's budgets) comes before the account is looked up, and an
    unknown email (or an account without a secure channel of that kind) gets a decoy code
    that is issued and queued like a real one and then discarded: same answer, same work.
    The secure channel's own budget (shared by the accounts a phone guards) refuses silently."""
    key = login_key(email)
    await ctx.codes.spend(reset_budgets(ctx, key, client_ip))
    account, destination = await _reset_target(ctx, key, channel)
    try:
        await send_code(
            ctx,
            CodePurpose.RESET_PASSWORD,
            channel,
            destination or key,
            language=account.language if account is not None else "zh-CN",
            account_id=str(account.account_id if account is not None else NO_ACCOUNT),
            decoy_for=key if destination is None else None,
        )
    except (CodeRateLimited, CodeTriesExhausted):
        return


async def reset_password(
    ctx: IdentityContext, email: str, channel: Channel, code: str, new: str
) -> None:
    """PWD-3: the code proves the secure channel; every session ends. An unknown email is
    checked against its decoy code: the same tries, the same answers."""
    key = login_key(email)
    check_password(new, email=normalise_email(email))  # input first: nothing counted before
    account, destination = await _reset_target(ctx, key, channel)
    if account is None or destination is None:
        await check_decoy_code(ctx, CodePurpose.RESET_PASSWORD, channel, key, code)
    await check_code(ctx, CodePurpose.RESET_PASSWORD, destination, code)
    # LOGIN-2/3: a code from the secure channel proves the owner: the lock goes too.
    await _set_password(
        ctx,
        account.account_id,
        new,
        how="reset",
        keep_session=None,
        lift_lock=ctx.login_subject(key),
    )


async def unlock_password_login(ctx: IdentityContext, account_id: int, operator_id: str) -> bool:
    """An operator lifts the account's password lock (the support route out of a lock);
    returns whether the account has a password to unlock. Audited by the operator route."""
    async with ctx.runtime.uow() as uow:
        await ctx.repo.get_account(uow.conn, account_id, for_update=True)
        email = await ctx.repo.login_email(uow.conn, account_id)
        await ctx.repo.lift_password_lock(uow.conn, account_id)
    if email is None:
        return False
    await ctx.guard.unlock(ctx.login_subject(email))
    log.info("password_login_unlocked", account_id=str(account_id), operator=operator_id)
    return True


async def change_secure_phone(
    ctx: IdentityContext,
    account_id: int,
    proof: protection.Proof | None,
    new_phone: str,
    new_phone_code: str,
    caller: Caller | None = None,
) -> str:
    """SEC-2: identity verification (a proof, or the caller's recent step-up), then a code
    sent to the new phone; SEC-1 holds."""
    phone = normalise_mobile(new_phone, field="new_phone")
    async with ctx.runtime.engine.connect() as conn:
        account = await ctx.repo.get_account(conn, account_id)
    await protection.require_verification(ctx, account, caller, proof)
    await check_code(ctx, CodePurpose.CHANGE_SECURE_PHONE, phone, new_phone_code)
    async with ctx.runtime.uow() as uow:
        await ctx.repo.lock_identifier(uow.conn, "phone", phone)
        limit = ctx.settings.secure_phone_max_accounts
        if (
            phone != account.secure_phone
            and await ctx.repo.count_secure_phone(uow.conn, phone) >= limit
        ):
            raise SecurePhoneQuotaExceeded(
                f"This phone already guards {limit} accounts.", details={"limit": limit}
            )
        await ctx.repo.update_account(uow.conn, account_id, secure_phone=phone)
        changed = SecurePhoneChanged(
            phone_masked=mask_phone(phone),
            previous_masked=mask_phone(account.secure_phone) if account.secure_phone else None,
            at=ctx.now(),
        )
        await emit(uow, account_id, changed)
        if account.secure_phone and account.secure_phone != phone:
            await _tell_old_channel(
                uow,
                account,
                Channel.SMS,
                account.secure_phone,
                "secure_phone_changed",
                {"phone": changed.phone_masked, "previous": changed.previous_masked or ""},
                changed.at,
            )
        await publish_contacts(uow, await ctx.repo.get_account(uow.conn, account_id))
    return mask_phone(phone)


async def _tell_old_channel(
    uow: UnitOfWork,
    account: Any,
    channel: Channel,
    destination: str,
    message_type: str,
    params: dict[str, str],
    at: datetime,
) -> None:
    """LOGIN-8 / SEC-2 / SEC-3: the notice of a secure-channel change goes to the OLD phone
    or email by name. The event's notice follows the contacts projection, which may already
    hold the new one: the person who lost the channel must hear of it there."""
    request = NotificationRequested(
        message_type=message_type,
        channel=channel,
        destination=destination,
        language=account.language,
        params={
            "account_id": str(account.account_id),
            **params,
            "at": at.strftime("%Y-%m-%d %H:%M UTC"),
        },
    )
    await uow.emit(
        Topic.NOTIFIER_REQUESTS,
        new_envelope(request, producer=PRODUCER, account_id=str(account.account_id)),
    )


async def change_secure_email(
    ctx: IdentityContext,
    account_id: int,
    proof: protection.Proof,
    new_email: str,
    new_email_code: str,
) -> str:
    """SEC-3: prove the old secure email (when there is one) and the new one."""
    email = normalise_email(new_email, field="new_email")
    async with ctx.runtime.engine.connect() as conn:
        account = await ctx.repo.get_account(conn, account_id)
    if account.secure_email is not None and proof.factor is not Factor.EMAIL:
        raise SecureEmailProofRequired(
            "Prove the current secure email with a code sent to it (channel `email`).",
            details={"channel": "email"},
        )
    await verify_factor(ctx, account, proof.factor, proof.code)
    await check_code(ctx, CodePurpose.CHANGE_SECURE_EMAIL, email, new_email_code)
    async with ctx.runtime.uow() as uow:
        await ctx.repo.update_account(uow.conn, account_id, secure_email=email)
        email_changed = SecureEmailChanged(
            email_masked=mask_email(email),
            previous_masked=mask_email(account.secure_email) if account.secure_email else None,
            at=ctx.now(),
        )
        await emit(uow, account_id, email_changed)
        if account.secure_email and email_key(account.secure_email) != email_key(email):
            await _tell_old_channel(
                uow,
                account,
                Channel.EMAIL,
                account.secure_email,
                "secure_email_changed",
                {
                    "email": email_changed.email_masked,
                    "previous": email_changed.previous_masked or "",
                },
                email_changed.at,
            )
        await publish_contacts(uow, await ctx.repo.get_account(uow.conn, account_id))
    return mask_email(email)


async def update_profile(ctx: IdentityContext, account_id: int, changes: dict[str, Any]) -> Any:
    """ACC-2: nickname, language and the contact channels, apart from the secure ones; a new
    contact email or message phone needs the code sent to it (purpose contact_email /
    message_phone), unless it is already the account's secure one."""
    values: dict[str, Any] = {}
    # (purpose, destination, code): new contact channels, each proven before anything is
    # stored (and so before anything is ever sent there).
    proofs: list[tuple[CodePurpose, str, str]] = []
    async with ctx.runtime.engine.connect() as conn:
        current = await ctx.repo.get_account(conn, account_id)
    if "nickname" in changes:
        values["nickname"] = (changes["nickname"] or "").strip()[:64] or None
    if changes.get("language") is not None:
        values["language"] = check_language(changes["language"])
    if "contact_email" in changes:
        raw = changes["contact_email"]
        email = normalise_email(raw, field="contact_email") if raw else None
        proven = {email_key(e) for e in (current.contact_email, current.secure_email) if e}
        if email is not None and email_key(email) not in proven:
            code = require(changes.get("contact_email_code"), "contact_email_code")
            proofs.append((CodePurpose.CONTACT_EMAIL, email, code))
        values["contact_email"] = email
    if "message_phone" in changes:
        raw = changes["message_phone"]
        phone = normalise_mobile(raw, field="message_phone") if raw else None
        if phone is not None and phone not in (current.message_phone, current.secure_phone):
            code = require(changes.get("message_phone_code"), "message_phone_code")
            proofs.append((CodePurpose.MESSAGE_PHONE, phone, code))
        values["message_phone"] = phone
    for purpose, destination, code in proofs:
        await check_code(ctx, purpose, destination, code)
    async with ctx.runtime.uow() as uow:
        if values:
            await ctx.repo.update_account(uow.conn, account_id, **values)
        account = await ctx.repo.get_account(uow.conn, account_id)
        if values.keys() & {"contact_email", "message_phone", "language"}:
            await publish_contacts(uow, account)
    return account


async def apply_status(
    ctx: IdentityContext,
    uow: UnitOfWork,
    account_id: int,
    *,
    add: str | None = None,
    remove: str | None = None,
    cancel: bool = False,
) -> None:
    """ACC-3 from another service's event; publishes AccountStatusChanged when it changes."""
    account = await ctx.repo.get_account(uow.conn, account_id, for_update=True)
    if account.status == "cancelled":
        return
    reasons = set(account.frozen_reasons)
    if add:
        reasons.add(add)
    if remove:
        reasons.discard(remove)
    status = status_of(cancel, reasons)
    now = ctx.now()
    values: dict[str, Any] = {"status": status.value, "frozen_reasons": sorted(reasons)}
    if cancel:
        # CAN-7 / REG-5: identifiers and the secure phone are released; service_layer/erasure
        # erases the rest of the personal data in the same transaction.
        await ctx.repo.release_all_methods(uow.conn, account_id)
        values.update(cancelled_at=now, secure_phone=None, secure_email=None)
    await ctx.repo.update_account(uow.conn, account_id, **values)
    if status.value != account.status or sorted(reasons) != sorted(account.frozen_reasons):
        await emit(
            uow,
            account_id,
            AccountStatusChanged(status=status, frozen_reasons=sorted(reasons), changed_at=now),
        )
    if cancel:
        await uow.emit_tombstone(Topic.IDENTITY_CONTACTS, str(account_id))
    if status.value != "active":
        await ctx.sessions.close_all(str(account_id))
