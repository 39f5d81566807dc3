"""LOGIN-4 for second factors: every guess at a code spends the account's budget of
consecutive failures, shared with its passwords (NIST SP 800-63B 5.2.2); once spent, codes
are refused as passwords are. Each second-factor strategy wraps its comparison in
`counted_guess`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from services.identity.service_layer.codes import account_subject
from services.identity.service_layer.context import IdentityContext
from services.identity.service_layer.events import emit
from shared.events import AccountLocked


async def counted_guess(
    ctx: IdentityContext,
    account: Any,
    compare: Callable[[], Awaitable[None]],
    *,
    wrong: tuple[type[Exception], ...],
    not_compared: tuple[type[Exception], ...] = (),
) -> None:
    """Spend one failure, then `compare`: a `wrong` answer keeps it spent (and records the
    lock when it was the budget's last), a `not_compared` one gives it back (no guess was
    made), a right one ends the streak."""
    subject = await account_subject(ctx, account.account_id)
    spends = await ctx.guard.spend(subject, refuse_when_spent=True)
    try:
        await compare()
    except wrong:
        if spends is not None:
            await _record_budget_spent(ctx, account.account_id, spends)
        raise
    except not_compared:
        await ctx.guard.unspend(subject)
        raise
    await ctx.guard.settle(subject, right=True)


async def _record_budget_spent(ctx: IdentityContext, account_id: int, streak: int) -> None:
    """The last failure the budget allowed was a code: the lock is recorded like a
    password's (AccountLocked, kept in PostgreSQL with the streak's name)."""
    now = ctx.now()
    notify = await ctx.guard.may_notify_lock(str(account_id), ctx.settings.lock_notice_interval_s)
    async with ctx.runtime.uow() as uow:
        await ctx.repo.record_password_lock(
            uow.conn, account_id, until=None, until_reset=True, streak=streak
        )
        await emit(
            uow,
            account_id,
            AccountLocked(
                locked_until=now + timedelta(seconds=ctx.settings.login_lock_window_s),
                failures=ctx.guard.failure_budget,
                at=now,
                until_reset=True,
                notify_owner=notify,
            ),
        )
