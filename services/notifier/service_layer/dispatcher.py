"""The courier: sends due deliveries, retries with backoff, records every outcome.

A delivery row is locked (FOR UPDATE SKIP LOCKED) while it is sent, so several notifier
instances never send the same row; the outcome and its NotificationSent/Failed event commit
together through the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa

from services.notifier.adapters.mailer import DeliveryError
from services.notifier.adapters.tables import contacts, deliveries
from services.notifier.domain.routing import Category, Contacts, destination_for
from services.notifier.domain.templates import render
from services.notifier.settings import NotifierSettings
from shared.events import Channel, NotificationFailed, NotificationSent, Topic, new_envelope
from shared.logging import get_logger
from shared.masking import mask_email, mask_phone
from shared.runtime import Runtime
from shared.unit_of_work import UnitOfWork

log = get_logger(__name__)
PRODUCER = "notifier"
# How long a delivery waits for the account's contacts to arrive before it fails.
CONTACTS_GRACE = timedelta(seconds=60)


class Mailer(Protocol):
    async def send(self, *, to: str, subject: str, text: str, message_key: str) -> None: ...


def mask(channel: Channel, destination: str) -> str:
    return mask_phone(destination) if channel is Channel.SMS else mask_email(destination)


def retry_delay(settings: NotifierSettings, attempts: int) -> float:
    """Exponential backoff with full jitter, capped."""
    ceiling = min(
        settings.delivery_backoff_s * 2 ** (attempts - 1), settings.delivery_backoff_max_s
    )
    return random.uniform(ceiling / 2, ceiling)


class Dispatcher:
    """Background loop of the notifier; start() and stop() follow the service's lifespan."""

    def __init__(self, runtime: Runtime, mailer: Mailer) -> None:
        assert isinstance(runtime.settings, NotifierSettings)
        self._runtime = runtime
        self._settings: NotifierSettings = runtime.settings
        self._mailer = mailer
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="delivery-dispatcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                sent_one = await self.dispatch_one()
            except Exception:
                log.exception("dispatch_failed")
                sent_one = False
            if not sent_one:
                await asyncio.sleep(self._settings.delivery_poll_interval_s)

    async def dispatch_one(self) -> bool:
        """Handle the next due delivery; False when none is due."""
        now = self._runtime.clock.now()
        async with self._runtime.uow() as uow:
            row = (
                await uow.conn.execute(
                    sa.select(deliveries, contacts.c.account_id.label("known"), *_contact_cols())
                    .outerjoin(contacts, contacts.c.account_id == deliveries.c.account_id)
                    .where(deliveries.c.status == "queued", deliveries.c.next_attempt_at <= now)
                    .order_by(deliveries.c.next_attempt_at)
                    .limit(1)
                    .with_for_update(of=deliveries, skip_locked=True)
                )
            ).first()
            if row is None:
                return False
            await self._deliver(uow, row, now)
            return True

    async def _deliver(self, uow: UnitOfWork, row: Any, now: datetime) -> None:
        channel = Channel(row.channel)
        known = Contacts(
            secure_phone=row.c_secure_phone,
            secure_email=row.c_secure_email,
            message_phone=row.c_message_phone,
            contact_email=row.c_contact_email,
            language=row.c_language or "zh-CN",
        )
        destination = row.destination or destination_for(Category(row.category), channel, known)
        language = row.language or known.language
        attempts = row.attempts + 1
        if destination is None:
            if row.known is None and now - row.created_at < CONTACTS_GRACE:
                await _update(uow, row.id, next_attempt_at=now + timedelta(seconds=1))
                return  # contacts of a new account may still be on their way
            await self._fail(uow, row, now, attempts, None, "no_destination")
            return
        rendered = render(row.message_type, language, dict(row.params))
        try:
            await self._mailer.send(
                to=destination,
                subject=rendered.subject,
                text=rendered.text,
                message_key=str(row.id),
            )
        except DeliveryError as exc:
            if exc.permanent or attempts >= self._settings.delivery_max_attempts:
                await self._fail(uow, row, now, attempts, destination, str(exc))
                return
            delay = retry_delay(self._settings, attempts)
            await _update(
                uow,
                row.id,
                attempts=attempts,
                last_error=str(exc),
                next_attempt_at=now + timedelta(seconds=delay),
            )
            log.warning("delivery_retry", delivery=str(row.id), attempts=attempts, error=str(exc))
            return
        await _update(uow, row.id, status="sent", attempts=attempts, finished_at=now)
        await uow.emit(
            Topic.NOTIFIER_EVENTS,
            new_envelope(
                NotificationSent(
                    source_event_id=str(row.source_event_id),
                    message_type=row.message_type,
                    channel=channel,
                    destination_masked=mask(channel, destination),
                    attempts=attempts,
                    sent_at=now,
                ),
                producer=PRODUCER,
                account_id=row.account_id,
            ),
        )
        log.info("delivery_sent", delivery=str(row.id), type=row.message_type, attempts=attempts)

    async def _fail(
        self,
        uow: UnitOfWork,
        row: Any,
        now: datetime,
        attempts: int,
        destination: str | None,
        reason: str,
    ) -> None:
        channel = Channel(row.channel)
        await _update(
            uow, row.id, status="failed", attempts=attempts, last_error=reason, finished_at=now
        )
        await uow.emit(
            Topic.NOTIFIER_EVENTS,
            new_envelope(
                NotificationFailed(
                    source_event_id=str(row.source_event_id),
                    message_type=row.message_type,
                    channel=channel,
                    destination_masked=mask(channel, destination) if destination else None,
                    attempts=attempts,
                    reason=reason,
                    failed_at=now,
                ),
                producer=PRODUCER,
                account_id=row.account_id,
            ),
        )
        log.warning("delivery_failed", delivery=str(row.id), reason=reason)


def _contact_cols() -> list[sa.Label[Any]]:
    return [
        contacts.c[name].label(f"c_{name}")
        for name in ("secure_phone", "secure_email", "message_phone", "contact_email", "language")
    ]


async def _update(uow: UnitOfWork, delivery_id: Any, **values: Any) -> None:
    await uow.conn.execute(
        deliveries.update().where(deliveries.c.id == delivery_id).values(**values)
    )
