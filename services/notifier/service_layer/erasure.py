"""Erasure of a cancelled account's data in the notifier (CAN-7); the use cases.

- `schedule_erasure` (CancellationCompleted, in the consumer's inbox transaction, beside the
  completion notice's deliveries): a due row, never an in-process timer.
- `contacts_tombstoned` (identity.contacts' tombstone): the channels stay, marked, until the
  erasure, so a completion notice handled after the tombstone still goes out; a tombstone
  after the erasure changes nothing.
- `ErasureRunner` (driven by entrypoints/erasure_worker.py): `claim` due rows with a lease
  (one short transaction), then `run` each in its own transaction, which takes the row again
  only while the claim token is still its own: look at what is pending of the account; wait
  (due again after `ERASURE_RECHECK_S`) or erase, and queue `NotifierDataErased` in the same
  transaction. A process killed after the claim leaves the row claimed until its lease runs
  out; then another worker claims it. One erasure, one confirmation.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from services.notifier.adapters.contacts import ContactsRepository
from services.notifier.adapters.dead_letters import DeliveryDeadLettered
from services.notifier.adapters.erasures import ErasureRepository, OutboxErasure
from services.notifier.adapters.repository import DeliveryRepository
from services.notifier.domain.delivery import Delivery, outcome_event_id
from services.notifier.domain.erasure import (
    ACCOUNT_ERASED,
    ERASED_MARK,
    KEPT,
    Claimed,
    Erase,
    Erasure,
    decide_erasure,
    retry_at,
)
from services.notifier.service_layer.failures import record_failure
from services.notifier.settings import NotifierSettings
from shared.clock import Clock
from shared.events import (
    NotificationFailed,
    NotificationSent,
    NotifierDataErased,
    Topic,
    new_envelope,
)
from shared.logging import get_logger
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
    scheduled = await erasures.schedule_completed(
        account_id,
        application_id=application_id,
        source_event_id=source_event_id,
        correlation_id=correlation_id,
        now=now,
        erase_by=now + max_wait,
    )
    if scheduled.erased_at is not None and not scheduled.confirmed:
        # The tombstone's erasure ran out of patience before the completion arrived: the
        # data is gone already; confirm it now, once.
        erasure = Erasure(
            account_id=account_id,
            application_id=application_id,
            erase_by=now,
            attempts=0,
            source_event_id=source_event_id,
            correlation_id=correlation_id,
        )
        await _confirm(uow, erasures, erasure, erased_at=scheduled.erased_at)


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
    await erasures.schedule_tombstoned(account_id, now=now, due_at=now + max_wait)


def outcome_event_ids(delivery_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    """The ids of every event the notifier may have written about these deliveries."""
    return [outcome_event_id(d, t) for d in delivery_ids for t in OUTCOME_TYPES]


class ErasureRunner:
    """Claims due erasures and runs each once; the worker in entrypoints/ decides when."""

    def __init__(
        self,
        *,
        unit_of_work: Callable[[], UnitOfWork],
        clock: Clock,
        settings: NotifierSettings,
    ) -> None:
        self._uow = unit_of_work
        self._clock = clock
        self._s = settings

    async def claim(self, limit: int) -> list[Claimed]:
        async with self._uow() as uow:
            return await ErasureRepository(uow.conn).claim_due(
                self._clock.now(), limit, timedelta(seconds=self._s.erasure_lease_s)
            )

    async def run(self, claimed: Claimed) -> bool:
        """Erase now or look again later; True when it erased. An error rolls everything
        back and makes the erasure due again after a backoff."""
        try:
            async with self._uow() as uow:
                return await self._run(uow, claimed)
        except Exception as error:
            log.warning(
                "erasure_failed",
                account_id=claimed.erasure.account_id,
                attempts=claimed.erasure.attempts,
                error=type(error).__name__,
            )
            await self._retry_later(claimed)
            return False

    async def _run(self, uow: UnitOfWork, claimed: Claimed) -> bool:
        account_id = claimed.erasure.account_id
        contacts = ContactsRepository(uow.conn)
        # The same lock as the projection's updates and tombstones, taken first, so an
        # update that arrives meanwhile waits and then finds the account erased.
        await contacts.lock_account(account_id)
        erasures = ErasureRepository(uow.conn)
        erasure = await erasures.lock_claimed(claimed)
        if erasure is None:
            log.info("erasure_no_longer_ours", account_id=account_id)
            return False
        deliveries = DeliveryRepository(uow.conn)
        outbox = OutboxErasure(uow.conn)
        events = outcome_event_ids(await deliveries.ids_of(account_id))
        pending = await deliveries.count_pending(account_id) + await outbox.unsent(events)
        now = self._clock.now()
        decision = decide_erasure(
            pending=pending,
            now=now,
            erase_by=erasure.erase_by,
            recheck=timedelta(seconds=self._s.erasure_recheck_s),
        )
        if not isinstance(decision, Erase):
            await erasures.reschedule(claimed, due_at=decision.at)
            return False
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
        await erasures.finish(account_id, now=now, forced=decision.forced)
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
        return True

    async def _retry_later(self, claimed: Claimed) -> None:
        base = timedelta(seconds=self._s.erasure_retry_backoff_s)
        due_at: datetime = retry_at(self._clock.now(), claimed.erasure.attempts, base)
        try:
            async with self._uow() as uow:
                await ErasureRepository(uow.conn).reschedule(claimed, due_at=due_at)
        except Exception as error:  # the lease brings it back anyway
            log.warning(
                "erasure_retry_not_stored",
                account_id=claimed.erasure.account_id,
                error=type(error).__name__,
            )


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
