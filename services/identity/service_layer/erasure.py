"""CAN-7 / REG-5: a completed cancellation cancels the account and erases what identity holds
of its person, in the inbox transaction of CancellationCompleted; IdentityDataErased
confirms it through the outbox in the same transaction."""

from __future__ import annotations

import dataclasses

from services.identity.domain.erasure import KEPT
from services.identity.service_layer.accounts import apply_status
from services.identity.service_layer.codes import code_key
from services.identity.service_layer.context import IdentityContext
from services.identity.service_layer.events import emit
from services.identity.service_layer.flows import failures_key
from shared.events import IdentityDataErased
from shared.logging import get_logger
from shared.unit_of_work import UnitOfWork

log = get_logger(__name__)

PENDING = "pending_cancellation"
# How long no session may open for an erased account: far longer than a login in flight (the
# password check, the second factor's flow is refused by the cancelled status anyway).
CLOSED_FOR_GOOD_S = 3600


async def complete_cancellation(
    ctx: IdentityContext, uow: UnitOfWork, account_id: int, application_id: str
) -> None:
    """Cancel the account (ACC-3: no login; its login methods and secure channels are free
    again, REG-5; `identity.contacts` gets its tombstone) and erase its personal data from
    the tables and from Redis. Idempotent: a second run finds nothing left to erase, and
    only the first erasure is confirmed."""
    data = await ctx.erasure.personal_data_of(uow.conn, account_id)  # locks the account
    first = (await ctx.repo.get_account(uow.conn, account_id)).erased_at is None
    shared = await ctx.erasure.held_by_others(uow.conn, account_id, data.destinations)
    await apply_status(ctx, uow, account_id, remove=PENDING, cancel=True)
    now = ctx.now()
    erased = await ctx.erasure.erase(uow.conn, data, at=now)
    # Redis, before the commit: should it fail, the transaction rolls back and the event is
    # handled again (every step here is idempotent).
    await ctx.sessions.close_for_good(str(account_id), keep_s=CLOSED_FOR_GOOD_S)
    await ctx.totp_window.forget(account_id)
    subjects = [ctx.login_subject(f"account:{account_id}")]
    if data.login_email_key is not None:
        subjects.append(ctx.login_subject(data.login_email_key))
    for subject in subjects:
        await ctx.guard.forget(subject)
    await ctx.guard.forget_lock_notice(str(account_id))
    codes = 0
    for destination in sorted(d for d in data.destinations if d.lower() not in shared):
        codes += await ctx.codes.forget(code_key(destination))
    if data.flow_ids:
        await ctx.runtime.redis.delete(*(failures_key(ctx, f) for f in data.flow_ids))
    if first:
        await emit(
            uow,
            account_id,
            IdentityDataErased(
                service="identity", application_id=application_id, erased_at=now, kept=KEPT
            ),
        )
    # Counts only: never a value.
    log.info(
        "account_erased" if first else "account_erasure_repeated",
        account_id=str(account_id),
        live_codes=codes,
        shared_destinations=len(shared),
        **dataclasses.asdict(erased),
    )
