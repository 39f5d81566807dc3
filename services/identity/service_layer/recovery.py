"""Recovery (REC-1, REC-2): the accounts a proven secure phone guards, and the appeal that
binds a new login email after an operator's review.

Enumeration: nothing is told before a code is right, and what a right code tells is what its
holder may know (REC-1: the accounts of their own phone, masked). An appeal names an account
id; an id that is unknown (or cancelled) gets the same answer as a real one after the same
checks and the same argon2 work, and its "pending appeal" is mimicked in Redis, so a second
appeal for it is refused like a second appeal for a real account.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.identity.domain.channels import email_key, normalise_email, normalise_mobile
from services.identity.domain.codes import Budget, CodePurpose
from services.identity.domain.errors import (
    AccountNotFound,
    AppealAccountClosed,
    AppealPending,
    CodeRateLimited,
)
from services.identity.domain.login_methods import Identity, QuotaExceeded, quota
from services.identity.domain.passwords import check_password
from services.identity.domain.recovery import (
    AppealStatus,
    OperatorAction,
    check_reason,
    check_statement,
    check_undecided,
    mask_account_id,
)
from services.identity.service_layer import devices
from services.identity.service_layer.codes import check_code
from services.identity.service_layer.context import PRODUCER, IdentityContext
from services.identity.service_layer.events import emit, publish_contacts
from services.identity.service_layer.login_methods import add_method
from services.identity.service_layer.ports import MfaDeviceState
from services.identity.service_layer.totp import REDIS_DOWN
from shared.events import (
    AppealDecided,
    AppealReceived,
    Channel,
    LoginMethodBound,
    LoginMethodKind,
    LoginMethodUnbound,
    MfaUnbound,
    MfaUnboundBy,
    NotificationRequested,
    SecureEmailChanged,
    Topic,
    new_envelope,
)
from shared.logging import get_logger
from shared.masking import mask_email
from shared.unit_of_work import UnitOfWork

log = get_logger(__name__)

# How long an appeal for an unknown account id counts as pending (a real one is pending until
# an operator decides, typically days).
DECOY_PENDING_S = 14 * 86400


async def find_accounts(ctx: IdentityContext, phone: str, code: str) -> list[dict[str, Any]]:
    """REC-1: after the code sent to the phone (purpose find_accounts) is proven, the accounts
    whose secure phone it is, masked; none is an empty list. A wrong code spends the code's own
    tries (CODE-1) and the phone's tries of the day; the code is single use, so every lookup
    costs a captcha and a send within the phone's and the client's budgets (CODE-2)."""
    number = normalise_mobile(phone, field="phone")
    await check_code(ctx, CodePurpose.FIND_ACCOUNTS, number, code)
    async with ctx.runtime.engine.connect() as conn:
        found = await ctx.appeals.guarded_by(conn, number)
    return [
        {
            "account_id": mask_account_id(account.account_id),
            "registered_on": account.registered_at.date().isoformat(),
            "login_methods": [{"kind": m.kind, "display": m.display} for m in methods],
        }
        for account, methods in found
    ]


@dataclass(frozen=True)
class Appeal:
    """REC-2: what the applicant sends."""

    account_id: int
    email: str
    email_code: str
    password: str
    reset_mfa: bool
    statement: str
    client_ip: str | None = None


async def file_appeal(ctx: IdentityContext, request: Appeal) -> dict[str, Any]:
    """REC-2: a pending appeal to bind `email` (proven by its code) as the account's login
    email with `password`; the account's secure channels are told (AppealReceived). Refused:
    an email that is another account's login email (LM-2), a second pending appeal."""
    email = normalise_email(request.email)
    check_password(request.password, email=email)  # PWD-1, before anything is counted
    statement = check_statement(request.statement)
    await check_code(ctx, CodePurpose.APPEAL_EMAIL, email, request.email_code)
    key = email_key(email)
    password_hash = await ctx.hasher.hash(request.password)  # the same work for any account id
    now = ctx.now()
    async with ctx.runtime.uow() as uow:
        account = await _account(ctx, uow, request.account_id)
        await ctx.repo.lock_identifier(uow.conn, LoginMethodKind.EMAIL.value, key)
        owners = await ctx.repo.accounts_with(uow.conn, LoginMethodKind.EMAIL, key)
        if [owner for owner in owners if owner != request.account_id]:
            raise QuotaExceeded(
                "This email is already another account's login email.",
                details={"kind": LoginMethodKind.EMAIL.value, "limit": 1},
            )
        if account is None:
            await _decoy_pending(ctx, request.account_id)
            return {"appeal_id": str(uuid.uuid4()), "status": AppealStatus.PENDING.value}
        if await ctx.appeals.pending_of(uow.conn, request.account_id) is not None:
            raise AppealPending("The account has a pending appeal: wait for its decision.")
        appeal_id = await ctx.appeals.insert(
            uow.conn,
            account_id=request.account_id,
            email=email,
            email_key=key,
            password_hash=password_hash,
            reset_mfa=request.reset_mfa,
            statement=statement,
            ip=request.client_ip,
            at=now,
        )
        received = AppealReceived(
            appeal_id=str(appeal_id),
            email_masked=mask_email(email),
            reset_mfa=request.reset_mfa,
            at=now,
        )
        await emit(uow, request.account_id, received)
    return {"appeal_id": str(appeal_id), "status": AppealStatus.PENDING.value}


async def _account(ctx: IdentityContext, uow: UnitOfWork, account_id: int) -> Any:
    """The account, locked (its appeals are filed one at a time); None when there is none
    to recover (unknown or cancelled)."""
    try:
        account = await ctx.repo.get_account(uow.conn, account_id, for_update=True)
    except AccountNotFound:
        return None
    return None if account.status == "cancelled" else account


async def _decoy_pending(ctx: IdentityContext, account_id: int) -> None:
    """An unknown account id's "pending appeal": a second appeal for it within
    DECOY_PENDING_S is refused as for a real account."""
    try:
        await ctx.codes.spend([Budget("appeal", f"decoy:{account_id}", 1, DECOY_PENDING_S)])
    except CodeRateLimited:
        raise AppealPending("The account has a pending appeal: wait for its decision.") from None


async def list_appeals(
    ctx: IdentityContext, status: AppealStatus, limit: int
) -> list[dict[str, Any]]:
    """The operator's queue: everything the review needs, in clear (operators only)."""
    async with ctx.runtime.engine.connect() as conn:
        rows = await ctx.appeals.listed(conn, status, limit)
    return [
        {
            "appeal_id": str(row.appeal_id),
            "account_id": str(row.account_id),
            "account_status": row.account_status,
            "account_registered_at": row.account_registered_at,
            "email": row.email,
            "reset_mfa": row.reset_mfa,
            "statement": row.statement,
            "status": row.status,
            "ip": row.ip,
            "created_at": row.created_at,
            "decided_at": row.decided_at,
            "decided_by": row.decided_by,
            "decision_reason": row.decision_reason,
        }
        for row in rows
    ]


async def approve(
    ctx: IdentityContext, appeal_id: uuid.UUID, *, operator_id: str, reason: str | None
) -> dict[str, Any]:
    """REC-2 approved, in one transaction: the appeal's email becomes the login email
    (replacing one the account had; LM-2 checked again), its password the account's, the
    MFA device goes when asked, no device stays trusted; the decision is audited and told to
    the secure channels and to the new email. Then every session ends."""
    reason = check_reason(reason, required=False)
    now = ctx.now()
    async with ctx.runtime.uow() as uow:
        appeal = await ctx.appeals.get(uow.conn, appeal_id, for_update=True)
        check_undecided(appeal.status)
        account_id = int(appeal.account_id)
        account = await ctx.repo.get_account(uow.conn, account_id, for_update=True)
        if account.status == "cancelled":
            raise AppealAccountClosed("The account was cancelled: reject the appeal.")
        display = mask_email(appeal.email)
        methods = {row.kind: row for row in await ctx.repo.methods_of(uow.conn, account_id)}
        replaced = methods.get(LoginMethodKind.EMAIL.value)
        if replaced is not None:  # replaced in this transaction, so LM-4 holds throughout
            await ctx.repo.delete_method(uow.conn, account_id, LoginMethodKind.EMAIL)
        await add_method(
            ctx,
            uow.conn,
            account_id,
            Identity(LoginMethodKind.EMAIL, appeal.email_key),
            display=display,
            limit=quota(LoginMethodKind.EMAIL, ctx.settings.wechat_accounts_per_person),
            at=now,
        )
        await ctx.repo.update_account(uow.conn, account_id, password_hash=appeal.password_hash)
        await ctx.repo.lift_password_lock(uow.conn, account_id)
        mfa_state = (
            await ctx.mfa_devices.remove_any(uow.conn, account_id) if appeal.reset_mfa else None
        )
        await devices.untrust_all(ctx, uow.conn, account_id)
        # Sessions end below; a half-done login or step-up of the old credentials ends here.
        await ctx.flow_repo.expire_pending(uow.conn, account_id, at=now)
        await ctx.appeals.decide(
            uow.conn, appeal_id, AppealStatus.APPROVED, at=now, by=operator_id, reason=reason
        )
        audit = (uow, operator_id, account_id, appeal_id, now, reason)
        await _audit(ctx, OperatorAction.APPEAL_APPROVED, *audit)
        if mfa_state is not None:
            await _audit(ctx, OperatorAction.MFA_UNBOUND, *audit)
        if mfa_state is MfaDeviceState.ACTIVE:
            await emit(uow, account_id, MfaUnbound(by=MfaUnboundBy.OPERATOR, unbound_at=now))
        if replaced is not None:
            unbound = LoginMethodUnbound(
                kind=LoginMethodKind.EMAIL, identifier_masked=replaced.display, unbound_at=now
            )
            await emit(uow, account_id, unbound)
        bound = LoginMethodBound(
            kind=LoginMethodKind.EMAIL, identifier_masked=display, bound_at=now
        )
        await emit(uow, account_id, bound)
        if account.secure_email is None:
            # As when binding an email: the proven login email is the secure email when there
            # is none, so the account can reset its password by email (PWD-3).
            await ctx.repo.update_account(uow.conn, account_id, secure_email=appeal.email)
            await emit(uow, account_id, SecureEmailChanged(email_masked=display, at=now))
            await publish_contacts(uow, await ctx.repo.get_account(uow.conn, account_id))
        await _tell_decision(uow, account, appeal, approved=True, reason=reason, at=now)
    await ctx.guard.unlock(ctx.login_subject(appeal.email_key))
    if mfa_state is not None:
        with contextlib.suppress(*REDIS_DOWN):  # the key expires by itself within a few steps
            await ctx.totp_window.forget(account_id)
    ended = await ctx.sessions.close_all(str(account_id))
    log.info(
        "appeal_approved", appeal_id=str(appeal_id), operator=operator_id, sessions_ended=ended
    )
    return {"appeal_id": str(appeal_id), "status": AppealStatus.APPROVED.value}


async def reject(
    ctx: IdentityContext, appeal_id: uuid.UUID, *, operator_id: str, reason: str | None
) -> dict[str, Any]:
    """REC-2 rejected: nothing of the account changes; the decision and its reason are
    audited and told to the secure channels and to the appeal's email."""
    reason = check_reason(reason, required=True)
    now = ctx.now()
    async with ctx.runtime.uow() as uow:
        appeal = await ctx.appeals.get(uow.conn, appeal_id, for_update=True)
        check_undecided(appeal.status)
        account_id = int(appeal.account_id)
        account = await ctx.repo.get_account(uow.conn, account_id)
        await ctx.appeals.decide(
            uow.conn, appeal_id, AppealStatus.REJECTED, at=now, by=operator_id, reason=reason
        )
        await _audit(
            ctx,
            OperatorAction.APPEAL_REJECTED,
            uow,
            operator_id,
            account_id,
            appeal_id,
            now,
            reason,
        )
        await _tell_decision(uow, account, appeal, approved=False, reason=reason, at=now)
    log.info("appeal_rejected", appeal_id=str(appeal_id), operator=operator_id)
    return {"appeal_id": str(appeal_id), "status": AppealStatus.REJECTED.value}


async def _audit(
    ctx: IdentityContext,
    action: OperatorAction,
    uow: UnitOfWork,
    operator_id: str,
    account_id: int,
    appeal_id: uuid.UUID,
    at: datetime,
    reason: str | None,
) -> None:
    """operator_actions: who decided what about which appeal, and why."""
    await ctx.appeals.record_operator_action(
        uow.conn,
        at=at,
        operator_id=operator_id,
        action=action.value,
        account_id=account_id,
        subject=f"appeal:{appeal_id}",
        reason=reason,
    )


async def _tell_decision(
    uow: UnitOfWork, account: Any, appeal: Any, *, approved: bool, reason: str | None, at: datetime
) -> None:
    """AppealDecided (the notifier tells the secure channels), and the same message requested
    for the appeal's email: the applicant may have lost the secure channels."""
    account_id = str(account.account_id)
    decided = AppealDecided(
        appeal_id=str(appeal.appeal_id),
        approved=approved,
        reason=reason,
        email_masked=mask_email(appeal.email),
        decided_at=at,
    )
    await emit(uow, account_id, decided)
    request = NotificationRequested(
        message_type="appeal_decided",
        channel=Channel.EMAIL,
        destination=appeal.email,
        language=account.language,
        params={
            "appeal_id": decided.appeal_id,
            "decision": "approved" if approved else "rejected",
            "reason": reason or "-",
            "email": decided.email_masked,
            "at": at.strftime("%Y-%m-%d %H:%M UTC"),
        },
    )
    await uow.emit(
        Topic.NOTIFIER_REQUESTS,
        new_envelope(request, producer=PRODUCER, account_id=account_id, occurred_at=uow.now()),
    )
