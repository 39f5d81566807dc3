"""Erasure of a cancelled account's data in the notifier (CAN-7); the use cases.

- `schedule_erasure` (CancellationCompleted, in the consumer's inbox transaction, beside the
  completion notice's deliveries): the erasure's record and an `erasure` timer due now
  (shared/timers), never an in-process timer.
- `contacts_tombstoned` (identity.contacts' tombstone): the channels stay, marked, until the
  erasure, so a completion notice handled after the tombstone still goes out; a tombstone
  after the erasure changes nothing.
- `erase_when_quiet` (the `erasure` timer's effect, fired by the shared runner in the
  transaction that ends the timer, service_layer/timers.py): look at what is pending of the
  account; wait (the same timer postponed by `ERASURE_RECHECK_S`) or erase, and queue
  `NotifierDataErased` in the same transaction. Claims, leases and retries are the shared
  mechanism's: one erasure, one confirmation.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from services.notifier.adapters.contacts import ContactsRepository
from services.notifier.adapters.dead_letters import DeliveryDeadLettered
from services.notifier.adapters.erasures import ErasureRepository, OutboxErasure
from services.notifier.adapters.repository import DeliveryRepository
from services.notifier.adapters.timers import Timers
from services.notifier.domain.delivery import Delivery, outcome_event_id
from services.notifier.domain.erasure import (
    ACCOUNT_ERASED,
    ERASED_MARK,
    KEPT,
    Erase,
    Erasure,
    TimerKind,
    decide_erasure,
)
from services.notifier.service_layer.failures import record_failure
from shared.events import (
    NotificationFailed,
    NotificationSent,
    NotifierDataErased,
    Topic,
    new_envelope,
)
from shared.logging import get_logger
from shared.timers import Timer, TimerEffect
from shared.unit_of_work import UnitOfWork

log = get_logger(__name__)
SERVICE = "notifier"
# The events the notifier writes about one delivery (their ids derive from it).
OUTCOME_TYPES = (
    NotificationSent.event_type,
    NotificationFailed.event_type,
    DeliveryDeadLettered.event_type,
)


async def schedule_erasure(
    uow: UnitOfWork,
    account_id: str,
    *,
    application_id: str,
    source_event_id: uuid.UUID,
    correlation_id: uuid.UUID | None,
    max_wait: timedelta,
) -> None:
    """CancellationCompleted: erase the account's data once its deliveries are done (the
    completion notice, queued in the same transaction, first), and at `max_wait` at the
    latest. A redelivery, or a second completion, changes nothing."""
    now = uow.now()
    erasures = ErasureRepository(uow.conn)
    recorded = await erasures.record_completed(
        account_id,
        application_id=application_id,
        source_event_id=source_event_id,
        correlation_id=correlation_id,
        now=now,
        erase_by=now + max_wait,
    )
    timers = Timers(uow.conn)
    if recorded.created:
        await timers.schedule(TimerKind.ERASURE, account_id, account_id, due_at=now, now=now)
    elif recorded.erased_at is not None:
        if not recorded.confirmed:
            # The tombstone's erasure ran out of patience before the completion arrived: the
            # data is gone already; confirm it now, once.
            erasure = Erasure(
                account_id=account_id,
                application_id=application_id,
                erase_by=now,
                source_event_id=source_event_id,
                correlation_id=correlation_id,
            )
            await _confirm(uow, erasures, erasure, erased_at=recorded.erased_at)
    elif recorded.first:
        # The tombstone's timer waits for its bound: the completion makes it due now. Never
        # waits for a worker firing it (that worker then finds the completion recorded).
        await timers.bring_forward(TimerKind.ERASURE, account_id, due_at=now)


async def contacts_tombstoned(uow: UnitOfWork, account_id: str, *, max_wait: timedelta) -> None:
    """identity erased the account (tombstone on identity.contacts): keep its channels,
    marked and frozen, until the notifier's erasure; schedule one for `max_wait` from now in
    case CancellationCompleted never comes. After the erasure: nothing to do."""
    contacts = ContactsRepository(uow.conn)
    await contacts.lock_account(account_id)
    erasures = ErasureRepository(uow.conn)
    if await erasures.is_erased(account_id):
        log.info("contacts_tombstone_after_erasure", account_id=account_id)
        return
    now = uow.now()
    await contacts.mark_tombstoned(account_id, now)
    erase_by = now + max_wait
    if await erasures.record_tombstoned(account_id, now=now, erase_by=erase_by):
        await Timers(uow.conn).schedule(
            TimerKind.ERASURE, account_id, account_id, due_at=erase_by, now=now
        )


def outcome_event_ids(delivery_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    """The ids of every event the notifier may have written about these deliveries."""
    return [outcome_event_id(d, t) for d in delivery_ids for t in OUTCOME_TYPES]


def erase_when_quiet(recheck: timedelta) -> TimerEffect:
    """The `erasure` timer's effect: erase now, or say when to look again (`recheck`)."""

    async def effect(uow: UnitOfWork, timer: Timer) -> datetime | None:
        return await _erase_or_wait(uow, timer.account_id, recheck)

    return effect


async def _erase_or_wait(uow: UnitOfWork, account_id: str, recheck: timedelta) -> datetime | None:
    contacts = ContactsRepository(uow.conn)
    # The same lock as the projection's updates and tombstones, taken first, so an update
    # that arrives meanwhile waits and then finds the account erased.
    await contacts.lock_account(account_id)
    erasures = ErasureRepository(uow.conn)
    erasure = await erasures.lock(account_id)
    if erasure is None or erasure.erased_at is not None:
        log.info("erasure_nothing_to_do", account_id=account_id)
        return None
    deliveries = DeliveryRepository(uow.conn)
    outbox = OutboxErasure(uow.conn)
    events = outcome_event_ids(await deliveries.ids_of(account_id))
    pending = await deliveries.count_pending(account_id) + await outbox.unsent(events)
    now = uow.now()
    decision = decide_erasure(pending=pending, now=now, erase_by=erasure.erase_by, recheck=recheck)
    if not isinstance(decision, Erase):
        return decision.at
    abandoned: list[Delivery] = []
    if decision.forced:
        # The bound passed: what is still pending fails, without its destination.
        abandoned = await deliveries.lock_pending(account_id)
        for d in abandoned:
            d.fail_erased(now, ACCOUNT_ERASED)
        await deliveries.save(abandoned)
        for d in abandoned:
            await record_failure(uow, d)
    records = await deliveries.erase_account(account_id, mark=ERASED_MARK)
    await contacts.delete(account_id)
    removed = await outbox.delete_published(events)
    await erasures.erased(account_id, now=now, forced=decision.forced)
    if erasure.application_id is not None:
        await _confirm(uow, erasures, erasure, erased_at=now)
    log.info(
        "account_erased",
        account_id=account_id,
        forced=decision.forced,
        pending=pending,
        abandoned=len(abandoned),
        records=records,
        outbox_rows=removed,
        confirmed=erasure.application_id is not None,
    )
    return None


async def _confirm(
    uow: UnitOfWork, erasures: ErasureRepository, erasure: Erasure, *, erased_at: datetime
) -> None:
    """NotifierDataErased through the outbox, in the erasing (or confirming) transaction."""
    assert erasure.application_id is not None
    await uow.emit(
        Topic.NOTIFIER_EVENTS,
        new_envelope(
            NotifierDataErased(
                service=SERVICE,
                application_id=erasure.application_id,
                erased_at=erased_at,
                kept=list(KEPT),
            ),
            producer=SERVICE,
            account_id=erasure.account_id,
            occurred_at=erased_at,
            correlation_id=erasure.correlation_id,
            causation_id=erasure.source_event_id,
        ),
    )
    await erasures.confirmed(erasure.account_id, uow.now())
