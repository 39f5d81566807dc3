"""RN-13: verified enterprises are re-checked against the registry, as timers.

- The sweep (one timer, `enterprise_recheck_sweep`, seeded by migration 0008, rescheduling
  itself every RECHECK_SWEEP_INTERVAL_S, at once while a full batch was found) takes up to
  RECHECK_BATCH enterprises last checked more than RECHECK_INTERVAL_S ago and asks the
  registry about each. Agreed: checked. Deregistered or a mismatch: the notice
  (RealNameRecheckFailed with the day of the downgrade) and a grace timer per account
  (`enterprise_recheck_grace`, RECHECK_GRACE_S).
- The grace timer asks the registry again: agreed, the notice is lifted; still wrong, the
  account turns unverified (RealNameChanged with the reason; its created sub-accounts follow,
  RN-12) and its place in the enterprise's quota is freed.

A registry that does not answer fails the timer's transaction: it is retried with backoff
(TIMER_RETRY_BACKOFF_S), nothing is decided on silence.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from services.verification.adapters.enterprise_store import Enterprises
from services.verification.adapters.quota import QuotaClaims, QuotaKind
from services.verification.adapters.rechecks import Rechecks
from services.verification.adapters.repository import RealNames
from services.verification.adapters.timers import Timers
from services.verification.domain import status
from services.verification.domain.enterprise import RegistryRecord
from services.verification.domain.rechecks import recheck_problem
from services.verification.domain.timers import Timer, TimerKind
from services.verification.service_layer import events
from services.verification.service_layer.context import VerificationContext
from services.verification.service_layer.status import record
from shared.events import RealNameRecheckFailed, RealNameSubject
from shared.logging import get_logger
from shared.unit_of_work import UnitOfWork

log = get_logger(__name__)

SWEEP_ACCOUNT = "-"
SWEEP_REF = "all"


async def _lookup(ctx: VerificationContext, uscc: str) -> RegistryRecord | None:
    async with asyncio.timeout(ctx.settings.enterprise_gateway_timeout_s):
        return await ctx.registry.lookup(uscc)


async def sweep(ctx: VerificationContext, uow: UnitOfWork, timer: Timer) -> None:
    """Re-check the enterprises due, then schedule the next sweep."""
    s = ctx.settings
    now = uow.now()
    rechecks = Rechecks(uow.conn)
    due = await rechecks.due(
        checked_before=now - timedelta(seconds=s.recheck_interval_s), limit=s.recheck_batch
    )
    for enterprise in due:
        problem = recheck_problem(
            await _lookup(ctx, enterprise.uscc), enterprise.name, enterprise.uscc
        )
        if problem is None:
            await rechecks.checked(enterprise.account_id, at=now)
            continue
        downgrade_at = now + timedelta(seconds=s.recheck_grace_s)
        await rechecks.noticed(enterprise.account_id, problem.value, at=now)
        await Timers(uow.conn).schedule(
            TimerKind.RECHECK_GRACE,
            enterprise.account_id,
            enterprise.account_id,
            due_at=downgrade_at,
            now=now,
        )
        await events.emit(
            uow,
            enterprise.account_id,
            RealNameRecheckFailed(reason=problem.value, noticed_at=now, downgrade_at=downgrade_at),
        )
        log.warning("enterprise_recheck_failed", account_id=enterprise.account_id, reason=problem)
    next_at = (
        now if len(due) == s.recheck_batch else now + timedelta(seconds=s.recheck_sweep_interval_s)
    )
    await Timers(uow.conn).schedule(
        TimerKind.RECHECK_SWEEP, SWEEP_ACCOUNT, SWEEP_REF, due_at=next_at, now=now
    )


async def grace_over(ctx: VerificationContext, uow: UnitOfWork, timer: Timer) -> None:
    """The notice's grace period ended: the registry agrees again, or the account turns
    unverified."""
    now = uow.now()
    account_id = timer.account_id
    rechecks = Rechecks(uow.conn)
    real_names = RealNames(uow.conn)
    current = await real_names.get(account_id, for_update=True)
    identity = await Enterprises(uow.conn).get(account_id)
    if (
        current is None
        or identity is None
        or current.status is not status.VERIFIED
        or current.subject is not RealNameSubject.ENTERPRISE
    ):
        await rechecks.checked(account_id, at=now)
        return
    problem = recheck_problem(await _lookup(ctx, identity.uscc), identity.name, identity.uscc)
    await rechecks.checked(account_id, at=now)
    if problem is None:
        log.info("enterprise_recheck_cleared", account_id=account_id)
        return
    change = status.downgrade(current, problem, at=now)
    await record(uow, current, change, details={"name": identity.name, "uscc": identity.uscc})
    await QuotaClaims(uow.conn).release_account(QuotaKind.ENTERPRISE, account_id, now=now)
