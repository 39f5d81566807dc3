"""Logging in (LOGIN-1..4, LOGIN-7, LOGIN-8; LM-9) and the session it opens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis.exceptions

from services.identity.adapters import repository as repo
from services.identity.domain.accounts import may_log_in
from services.identity.domain.channels import login_key
from services.identity.domain.errors import (
    AccountChoiceRequired,
    InvalidCredentials,
    LoginLocked,
    LoginRefused,
    LoginUnavailable,
    NotRegistered,
)
from services.identity.domain.login_methods import Identity
from services.identity.service_layer.captcha import pass_captcha
from services.identity.service_layer.context import IdentityContext
from services.identity.service_layer.events import emit
from services.identity.service_layer.registration import third_party_identity
from shared.errors import AppError
from shared.events import (
    AccountLocked,
    AccountStatus,
    LoginFailed,
    LoginMethodKind,
    LoginSucceeded,
)

REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)
WRONG = "Email or password is wrong."


@dataclass(frozen=True)
class Client:
    """Where an attempt comes from (LOGIN-8)."""

    device_id: str | None = None
    ip: str | None = None


@dataclass(frozen=True)
class LoggedIn:
    account_id: str
    access_token: str
    expires_in_s: int
    session_id: str
    refresh_token: str
    session_ends_at: datetime


async def _record(
    ctx: IdentityContext,
    account: Any,
    method: str,
    client: Client,
    *,
    failed: str | None = None,
    locked_until: Any = None,
) -> bool:
    """History row + event in one transaction; returns whether the device is new."""
    now = ctx.now()
    new_device = False
    async with ctx.runtime.uow() as uow:
        account_id = account.account_id
        await repo.record_attempt(
            uow.conn,
            account_id,
            at=now,
            method=method,
            device_id=client.device_id,
            ip=client.ip,
            result="failed" if failed else "succeeded",
            reason=failed,
        )
        if failed:
            await emit(
                uow,
                account_id,
                LoginFailed(
                    method=method, device_id=client.device_id, ip=client.ip, reason=failed, at=now
                ),
            )
            if locked_until is not None:
                failures = ctx.settings.login_lock_after
                await emit(
                    uow,
                    account_id,
                    AccountLocked(locked_until=locked_until, failures=failures, at=now),
                )
        else:
            new_device = await repo.remember_device(uow.conn, account_id, client.device_id, now)
            await repo.update_account(uow.conn, account_id, last_login_at=now)
            await emit(
                uow,
                account_id,
                LoginSucceeded(
                    method=method,
                    device_id=client.device_id,
                    ip=client.ip,
                    new_device=new_device,
                    at=now,
                ),
            )
    return new_device


async def _open_session(ctx: IdentityContext, account_id: int) -> LoggedIn:
    opened = await ctx.sessions.open(str(account_id), ctx.now())
    return LoggedIn(
        str(account_id),
        opened.access_token,
        ctx.sessions.access_ttl_s,
        opened.caller.session_id,
        opened.refresh_token,
        opened.ends_at,
    )


async def _account_by_email(ctx: IdentityContext, key: str) -> Any:
    async with ctx.runtime.engine.connect() as conn:
        ids = await repo.accounts_with(conn, LoginMethodKind.EMAIL, key)
        return await repo.get_account(conn, ids[0]) if ids else None


async def password_login(
    ctx: IdentityContext, email: str, password: str, *, captcha: str | None, client: Client
) -> LoggedIn:
    """LOGIN-1..4 around one argon2 check; the answer never tells whether the email exists."""
    key = login_key(email)
    if captcha is not None:
        await pass_captcha(ctx, captcha, bound_to=key, key_of=login_key)
    try:
        attempt = await ctx.guard.begin(ctx.login_subject(key), captcha_passed=captcha is not None)
    except LoginLocked:
        account = await _account_by_email(ctx, key)
        if account is not None:
            await _record(ctx, account, "password", client, failed="LOGIN_LOCKED")
        raise
    except REDIS_DOWN:
        raise LoginUnavailable("Login is unavailable right now; try again shortly.") from None
    account = await _account_by_email(ctx, key)
    right = await ctx.hasher.verify(account.password_hash if account else None, password)
    try:
        if not right or account is None:
            locked_until = await ctx.guard.failed(attempt)
        else:
            await ctx.guard.succeeded(attempt)
    except REDIS_DOWN:
        raise LoginUnavailable("Login is unavailable right now; try again shortly.") from None
    if not right or account is None:
        if account is not None:
            await _record(
                ctx,
                account,
                "password",
                client,
                failed="INVALID_CREDENTIALS",
                locked_until=locked_until,
            )
        raise InvalidCredentials(WRONG)
    if not may_log_in(AccountStatus(account.status)):
        raise LoginRefused("This account is cancelled.")
    await _record(ctx, account, "password", client)
    return await _open_session(ctx, account.account_id)


async def third_party_login(
    ctx: IdentityContext,
    kind: LoginMethodKind,
    assertion: str,
    *,
    account_id: int | None,
    client: Client,
) -> LoggedIn:
    """Log in with a provider's assertion (REG-6); LM-9 refusals say why and how to fix."""
    verified = ctx.idp.verify(kind, assertion)
    identity = Identity(kind, verified.subject, verified.subtype)
    async with ctx.runtime.engine.connect() as conn:
        ids = await repo.accounts_with(conn, identity.kind, identity.identifier)
    if not ids:
        raise NotRegistered(f"No account has this {kind.value} login method: register first.")
    if account_id is None and len(ids) > 1:
        raise AccountChoiceRequired(
            "This identity manages several accounts: send `account_id`.",
            details={"accounts": [str(i) for i in ids]},
        )
    chosen = account_id if account_id is not None else ids[0]
    if chosen not in ids:
        raise NotRegistered(f"Account {chosen} has no such {kind.value} login method.")
    async with ctx.runtime.engine.connect() as conn:
        account = await repo.get_account(conn, chosen)
    try:
        await third_party_identity(ctx, kind, assertion)
    except AppError as refusal:
        await _record(ctx, account, kind.value, client, failed=refusal.code)
        raise
    if not may_log_in(AccountStatus(account.status)):
        raise LoginRefused("This account is cancelled.")
    await _record(ctx, account, kind.value, client)
    return await _open_session(ctx, account.account_id)
