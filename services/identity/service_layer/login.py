"""Logging in (LOGIN-1..4, LOGIN-7, LOGIN-8; LM-9) and the session it opens."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import redis.exceptions

from services.identity.adapters import repository as repo
from services.identity.adapters.login_guard import Attempt, since_last_summary, summary_due
from services.identity.domain.accounts import may_log_in
from services.identity.domain.channels import login_key
from services.identity.domain.errors import (
    AccountChoiceRequired,
    InvalidCredentials,
    LoginLocked,
    LoginLockedUntilReset,
    LoginRefused,
    LoginUnavailable,
    NotRegistered,
)
from services.identity.domain.login_methods import Identity
from services.identity.service_layer.captcha import pass_captcha
from services.identity.service_layer.context import IdentityContext
from services.identity.service_layer.decoys import NO_ACCOUNT, writes_kept_unless
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


@dataclass(frozen=True)
class Failure:
    """One failed attempt to record (or a summary of refusals while locked)."""

    reason: str
    attempts: int = 1
    locks_until: datetime | None = None
    until_reset: bool = False
    streak: int | None = None


async def _record(
    ctx: IdentityContext,
    account: Any | None,
    method: str,
    client: Client,
    *,
    failures: Sequence[Failure] = (),
    succeeded: bool = False,
) -> bool:
    """History rows + events (+ the lock's end) in one transaction, so a counted failure and
    its record cannot part (LOGIN-8); returns whether the device is new.

    No account (an unknown email): the same work for nobody, thrown away (decoys.py), so a
    wrong password or a lock costs a known and an unknown email the same (ASVS 5.0 6.3.8)."""
    account_id = account.account_id if account is not None else NO_ACCOUNT
    notify = True
    if any(f.locks_until or f.until_reset for f in failures):
        notify = await ctx.guard.may_notify_lock(
            str(account_id), ctx.settings.lock_notice_interval_s
        )
    try:
        return await _write_records(
            ctx, account_id, method, client, failures, succeeded, notify, discard=account is None
        )
    except BaseException:
        if notify and any(f.locks_until or f.until_reset for f in failures):
            # The lock was not recorded, so its notice was not sent: its slot stays free.
            with contextlib.suppress(*REDIS_DOWN):
                await ctx.guard.forget_lock_notice(str(account_id))
        raise


async def _write_records(
    ctx: IdentityContext,
    account_id: int,
    method: str,
    client: Client,
    failures: Sequence[Failure],
    succeeded: bool,
    notify: bool,
    *,
    discard: bool = False,
) -> bool:
    now = ctx.now()
    new_device = False
    async with ctx.runtime.uow() as uow, writes_kept_unless(uow, discard=discard):
        for failure in failures:
            await repo.record_attempt(
                uow.conn,
                account_id,
                at=now,
                method=method,
                device_id=client.device_id,
                ip=client.ip,
                result="failed",
                reason=failure.reason,
                attempts=failure.attempts,
            )
            await emit(
                uow,
                account_id,
                LoginFailed(
                    method=method,
                    device_id=client.device_id,
                    ip=client.ip,
                    reason=failure.reason,
                    at=now,
                    attempts=failure.attempts,
                ),
            )
            if failure.locks_until is None and not failure.until_reset:
                continue
            await repo.record_password_lock(
                uow.conn,
                account_id,
                until=failure.locks_until,
                until_reset=failure.until_reset,
                streak=failure.streak,
            )
            until = failure.locks_until or now + timedelta(seconds=ctx.settings.login_lock_window_s)
            await emit(
                uow,
                account_id,
                AccountLocked(
                    locked_until=until,
                    failures=(
                        ctx.guard.failure_budget
                        if failure.until_reset
                        else ctx.settings.login_lock_after
                    ),
                    at=now,
                    until_reset=failure.until_reset,
                    notify_owner=notify,
                ),
            )
        if succeeded:
            await repo.record_attempt(
                uow.conn,
                account_id,
                at=now,
                method=method,
                device_id=client.device_id,
                ip=client.ip,
                result="succeeded",
            )
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
        return await repo.first_account_with(conn, LoginMethodKind.EMAIL, key)


Refusal = LoginLocked | LoginLockedUntilReset


def _recorded_lock(ctx: IdentityContext, account: Any, attempt: Attempt) -> Refusal | None:
    """LOGIN-2/4: a lock PostgreSQL recorded with its AccountLocked, which Redis lost.

    A lock ends one window after its run's first failure, so its end names its run; a spent
    budget is recorded with its streak's name. A lock of the attempt's own run (or a budget
    spent by its own streak) was recorded after Redis counted this attempt: Redis knows that
    run, and the attempt is one of its counted failures (LOGIN-4), not a refusal. Any other
    is a lock Redis lost.
    """
    if account is None:
        return None
    if account.password_lock_until_reset and account.password_lock_streak != attempt.streak_since:
        return LoginLockedUntilReset(refusals=1)
    until = account.password_locked_until
    if until is not None and until > ctx.now() and until != attempt.run_ends:
        return LoginLocked(until, refusals=1)
    return None


async def _record_refusal(
    ctx: IdentityContext,
    find_account: Callable[[], Awaitable[Any]],
    method: str,
    client: Client,
    refused: Refusal,
) -> None:
    """Refusals while locked are summarised: a row at the 1st, 2nd, 4th, 8th... refusal."""
    if not summary_due(refused.refusals):
        return
    account = await find_account()
    failure = Failure(refused.code, attempts=since_last_summary(refused.refusals))
    await _record(ctx, account, method, client, failures=[failure])


async def checked_password(
    ctx: IdentityContext,
    subject: str,
    find_account: Callable[[], Awaitable[Any]],
    password: str,
    *,
    method: str,
    client: Client,
    captcha_passed: bool,
    log_in: bool,
) -> Any:
    """LOGIN-1..4 around one argon2 check; returns the account when the password is right.

    Before any argon2 work: the client IP's throttle, then the subject's lock, captcha and
    failure budget (all in Redis), then the lock recorded in PostgreSQL. The attempt is
    counted first; if its record cannot be written it is given back, so a count and its
    LoginFailed / AccountLocked never part. `log_in` records the success as a login.
    """
    try:
        await ctx.guard.reserve_ip(client.ip)
        try:
            attempt = await ctx.guard.begin(subject, captcha_passed=captcha_passed)
        except AppError:
            await ctx.guard.give_back_ip(client.ip)
            raise
    except (LoginLocked, LoginLockedUntilReset) as refused:
        await _record_refusal(ctx, find_account, method, client, refused)
        raise
    except REDIS_DOWN:
        raise LoginUnavailable("Login is unavailable right now; try again shortly.") from None
    settled = False
    try:
        account = await find_account()
        recorded = _recorded_lock(ctx, account, attempt)
        if recorded is not None:
            await ctx.guard.relock(
                attempt,
                recorded.locked_until if isinstance(recorded, LoginLocked) else None,
                isinstance(recorded, LoginLockedUntilReset),
            )
            settled = True
            await ctx.guard.give_back_ip(client.ip)
            await _record_refusal(ctx, find_account, method, client, recorded)
            raise recorded
        right = await ctx.hasher.verify(account.password_hash if account else None, password)
        tail = []
        if attempt.unrecorded_refusals:
            tail = [Failure("LOGIN_LOCKED", attempts=attempt.unrecorded_refusals)]
        if right and account is not None:
            if log_in and not may_log_in(AccountStatus(account.status)):
                raise LoginRefused("This account is cancelled.")
            if tail or log_in:
                await _record(ctx, account, method, client, failures=tail, succeeded=log_in)
            settled = True
            await ctx.guard.succeeded(attempt)
            await ctx.guard.give_back_ip(client.ip)
            return account
        failure = Failure(
            "INVALID_CREDENTIALS",
            locks_until=attempt.locks_until,
            until_reset=attempt.spends_budget,
            streak=attempt.streak_since,
        )
        await _record(ctx, account, method, client, failures=[*tail, failure])
        settled = True
        await ctx.guard.failed(attempt)
        raise InvalidCredentials(WRONG if log_in else "The current password is wrong.")
    except REDIS_DOWN:
        raise LoginUnavailable("Login is unavailable right now; try again shortly.") from None
    finally:
        if not settled:
            # Neither counted nor recorded: the failure below (a crash of the check, the
            # database refusing the record) reaches the caller as itself.
            with contextlib.suppress(*REDIS_DOWN):
                await ctx.guard.release(attempt)
                await ctx.guard.give_back_ip(client.ip)


async def password_login(
    ctx: IdentityContext, email: str, password: str, *, captcha: str | None, client: Client
) -> LoggedIn:
    """LOGIN-1..4 around one argon2 check; the answer never tells whether the email exists."""
    key = login_key(email)
    if captcha is not None:
        await pass_captcha(ctx, captcha, bound_to=key, key_of=login_key)

    async def find_account() -> Any:
        return await _account_by_email(ctx, key)

    account = await checked_password(
        ctx,
        ctx.login_subject(key),
        find_account,
        password,
        method="password",
        client=client,
        captcha_passed=captcha is not None,
        log_in=True,
    )
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
        await _record(ctx, account, kind.value, client, failures=[Failure(refusal.code)])
        raise
    if not may_log_in(AccountStatus(account.status)):
        raise LoginRefused("This account is cancelled.")
    await _record(ctx, account, kind.value, client, succeeded=True)
    return await _open_session(ctx, account.account_id)
