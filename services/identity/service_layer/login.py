"""Logging in (LOGIN-1..4, LOGIN-7, LOGIN-8; LM-9) and the session it opens."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import redis.exceptions

from services.identity.domain.accounts import may_log_in
from services.identity.domain.errors import (
    FlowNotFound,
    InvalidCredentials,
    LoginLocked,
    LoginLockedUntilReset,
    LoginRefused,
    LoginUnavailable,
)
from services.identity.domain.flows import Factor, Flow, FlowKind, amr_of, needs_second_factor
from services.identity.domain.lockout import Attempt, since_last_summary, summary_due
from services.identity.service_layer import flows
from services.identity.service_layer.context import IdentityContext
from services.identity.service_layer.decoys import NO_ACCOUNT, writes_kept_unless
from services.identity.service_layer.events import emit
from shared.errors import AppError
from shared.events import (
    AccountLocked,
    AccountStatus,
    LoginFailed,
    LoginSucceeded,
    TrustedDeviceAdded,
)

REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)
WRONG = "Email or password is wrong."


@dataclass(frozen=True)
class Client:
    """Where an attempt comes from (LOGIN-8): the device's own name for itself, the
    credential identity issued to it at an earlier login (LOGIN-6), and the IP."""

    device_id: str | None = None
    ip: str | None = None
    device_credential: str | None = None


@dataclass(frozen=True)
class LoggedIn:
    account_id: str
    access_token: str
    expires_in_s: int
    session_id: str
    refresh_token: str
    session_ends_at: datetime
    # A credential issued to a device the account did not know: the client keeps it and
    # presents it at its next logins (LOGIN-6), and it is what "trust this device" trusts.
    device_credential: str | None = None
    trusted_until: datetime | None = None


@dataclass(frozen=True)
class SecondFactorRequired:
    """LOGIN-5: the first factor was right; the flow to complete with a second one."""

    flow: flows.FlowView


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
    success: Success | None = None,
) -> flows.DeviceOutcome | None:
    """History rows + events (+ the lock's end) in one transaction, so a counted failure and
    its record cannot part (LOGIN-8); a success also settles the device (LOGIN-6).

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
            ctx, account, method, client, failures, success, notify, discard=account is None
        )
    except BaseException:
        if notify and any(f.locks_until or f.until_reset for f in failures):
            # The lock was not recorded, so its notice was not sent: its slot stays free.
            with contextlib.suppress(*REDIS_DOWN):
                await ctx.guard.forget_lock_notice(str(account_id))
        raise


@dataclass(frozen=True)
class Success:
    """A login that succeeded: the device it came from and whether to trust it."""

    device: flows.DeviceCheck
    trust: bool = False
    second_factor: Factor | None = None


async def _write_records(
    ctx: IdentityContext,
    account: Any | None,
    method: str,
    client: Client,
    failures: Sequence[Failure],
    success: Success | None,
    notify: bool,
    *,
    discard: bool = False,
) -> flows.DeviceOutcome | None:
    now = ctx.now()
    account_id = account.account_id if account is not None else NO_ACCOUNT
    outcome = None
    async with ctx.runtime.uow() as uow, writes_kept_unless(uow, discard=discard):
        # CAN-7: an erasure holds the account's row lock; an attempt that was in flight meanwhile
        # waits for it, and then records no address or device, and logs nobody in.
        if await ctx.repo.status_for_share(uow.conn, account_id) == AccountStatus.CANCELLED:
            client = Client()
            if success is not None:
                raise LoginRefused("This account is cancelled.")
        for failure in failures:
            await ctx.repo.record_attempt(
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
            await ctx.repo.record_password_lock(
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
        if success is not None:
            await ctx.repo.record_attempt(
                uow.conn,
                account_id,
                at=now,
                method=method,
                device_id=client.device_id,
                ip=client.ip,
                result="succeeded",
            )
            outcome = await flows.settle_device(
                ctx,
                uow.conn,
                account,
                success.device,
                label=client.device_id,
                trust=success.trust,
                now=now,
            )
            await ctx.repo.record_login(uow.conn, account_id, at=now)
            await emit(
                uow,
                account_id,
                LoginSucceeded(
                    method=method,
                    device_id=client.device_id,
                    ip=client.ip,
                    new_device=outcome.new_device,
                    at=now,
                    dormant=outcome.dormant,
                    second_factor=success.second_factor,
                ),
            )
            if outcome.trusted_until is not None:
                await emit(
                    uow,
                    account_id,
                    TrustedDeviceAdded(
                        device_label=(client.device_id or "")[:64] or None,
                        trusted_until=outcome.trusted_until,
                        at=now,
                    ),
                )
    return outcome


async def _log_in(
    ctx: IdentityContext,
    account: Any,
    method: str,
    client: Client,
    success: Success,
    amr: tuple[str, ...],
) -> LoggedIn:
    """Record the login (LOGIN-8), settle its device (LOGIN-6) and open the session."""
    outcome = await _record(ctx, account, method, client, success=success)
    assert outcome is not None
    opened = await ctx.sessions.open(str(account.account_id), ctx.now(), amr=amr)
    return LoggedIn(
        str(account.account_id),
        opened.access_token,
        ctx.sessions.access_ttl_s,
        opened.caller.session_id,
        opened.refresh_token,
        opened.ends_at,
        outcome.credential,
        outcome.trusted_until,
    )


async def record_failure(
    ctx: IdentityContext, account: Any, method: str, client: Client, reason: str
) -> None:
    """A failed attempt that counts in no budget (a refused assertion, say), recorded."""
    await _record(ctx, account, method, client, failures=[Failure(reason)])


async def first_factor_done(
    ctx: IdentityContext, account: Any, method: str, client: Client
) -> LoggedIn | SecondFactorRequired:
    """LOGIN-5: with login protection on and an untrusted device, the first factor opens a
    flow instead of a session."""
    device = await flows.check_device(ctx, account.account_id, client.device_credential)
    if needs_second_factor(
        login_protection=account.login_protection, trusted_device=device.trusted
    ):
        flow = await flows.begin(
            ctx, FlowKind.LOGIN, account, method, device_id=client.device_id, ip=client.ip
        )
        return SecondFactorRequired(flow)
    return await _log_in(ctx, account, method, client, Success(device), (amr_of(method),))


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
    LoginFailed / AccountLocked never part. `log_in`: the check is a login's (a cancelled
    account is refused); the caller records the success.
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
            if tail:
                await _record(ctx, account, method, client, failures=tail)
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


async def complete_login(
    ctx: IdentityContext,
    flow: Flow,
    account: Any,
    factor: Factor,
    code: str,
    *,
    trust_device: bool,
    client: Client,
) -> LoggedIn:
    """LOGIN-5: a second factor completes a login flow and opens the session; "trust this
    device" skips the second factor on this device for TRUSTED_DEVICE_DAYS. A wrong second
    factor is a failed login attempt (LOGIN-8)."""
    if flow.kind is not FlowKind.LOGIN:
        raise FlowNotFound("No such flow.")
    try:
        completed = await flows.complete(ctx, flow, account, factor, code, None)
    except AppError as refusal:
        if refusal.code in flows.WRONG_FACTOR:
            await _record(ctx, account, flow.method, client, failures=[Failure(refusal.code)])
        raise
    if not may_log_in(AccountStatus(account.status)):
        raise LoginRefused("This account is cancelled.")
    device = await flows.check_device(ctx, account.account_id, client.device_credential)
    success = Success(device, trust=trust_device, second_factor=factor)
    return await _log_in(ctx, account, flow.method, client, success, completed.amr)
