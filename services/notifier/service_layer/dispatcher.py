"""The courier: sends due deliveries, retries with backoff, records every outcome (NOT-3).

A few worker tasks each take one due delivery at a time, so a slow or failing provider call
holds up one worker, never the other accounts' messages. Sending one delivery is two short
transactions around the provider call:

1. claim: lock the row (`FOR UPDATE SKIP LOCKED`), decide (send, wait for contacts, skip the
   channel, fail), and commit it as `sending` with a lease and a fresh claim token;
2. send with the delivery id as the idempotency key (the SMS provider's client request id,
   the email's Message-ID), giving up after half the lease;
3. record: commit the outcome with its `NotificationSent`/`NotificationFailed` event (and a
   dead letter) through the outbox, only if the claim token is still ours.

A process killed between 1 and 3 leaves the row `sending`; when its lease expires another
worker resends it with the same idempotency key, and the provider (and the dev sinks) drop
the duplicate. Nothing is lost, and nothing reaches the person twice.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import sqlalchemy as sa

from services.notifier.adapters.dead_letters import DeliveryDeadLettered, dead_letter
from services.notifier.adapters.ports import DeliveryError, Email, Mailer, Sms, SmsSender
from services.notifier.adapters.tables import contacts, deliveries
from services.notifier.domain.catalogue import kind_of, scrub
from services.notifier.domain.delivery import (
    Fail,
    GiveUp,
    Send,
    Skip,
    Wait,
    after_failure,
    decide,
)
from services.notifier.domain.routing import Category, Contacts
from services.notifier.domain.templates import (
    Rendered,
    TemplateError,
    UnknownTemplate,
    render,
    sms_template_id,
)
from services.notifier.service_layer.notifications import WAKE_CHANNEL, mask
from services.notifier.settings import NotifierSettings
from shared.events import Channel, NotificationFailed, NotificationSent, Topic, new_envelope
from shared.logging import get_logger
from shared.runtime import Runtime
from shared.unit_of_work import UnitOfWork

log = get_logger(__name__)
PRODUCER = "notifier"


@dataclass(frozen=True)
class Job:
    """A delivery claimed for sending."""

    id: uuid.UUID
    claim_token: uuid.UUID
    source_event_id: uuid.UUID
    account_id: str
    message_type: str
    category: str
    channel: Channel
    destination: str
    language: str | None
    params: dict[str, str]
    attempts: int
    rendered: Rendered


def redact(text: str, destination: str | None, channel: Channel) -> str:
    """Provider errors may echo the address: keep only its masked form."""
    if destination:
        text = text.replace(destination, mask(channel.value, destination))
    return text[:1000]


class Dispatcher:
    """Background worker of the notifier; start() and stop() follow the service's lifespan."""

    def __init__(
        self,
        runtime: Runtime,
        mailer: Mailer,
        sms: SmsSender,
        *,
        rng: random.Random | None = None,
    ) -> None:
        assert isinstance(runtime.settings, NotifierSettings)
        self._runtime = runtime
        self._settings: NotifierSettings = runtime.settings
        self._mailer = mailer
        self._sms = sms
        self._rng = rng or random.Random()
        self._tasks: list[asyncio.Task[None]] = []
        self._listener: asyncio.Task[None] | None = None
        # Idle workers, each waiting on its own future: a wake-up goes to one of them.
        self._idle: collections.deque[asyncio.Future[None]] = collections.deque()
        self._stopping = False

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        self._stopping = False
        self._listener = asyncio.create_task(self._listen(), name="delivery-listener")
        self._tasks = [
            asyncio.create_task(self._work(n), name=f"delivery-worker-{n}")
            for n in range(self._settings.delivery_concurrency)
        ]

    async def stop(self) -> None:
        """Let the deliveries being sent finish (bounded by the lease), then stop."""
        self._stopping = True
        while self._idle:
            self.wake()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=self._settings.delivery_lease_s)
            for task in pending:
                task.cancel()
        for task in [*self._tasks, *([self._listener] if self._listener else [])]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks, self._listener = [], None
        await self._sms.aclose()

    def wake(self) -> None:
        """One idle worker looks for due deliveries now (it keeps going while it finds some;
        a burst of new deliveries wakes one worker per notification)."""
        while self._idle:
            waiter = self._idle.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _listen(self) -> None:
        """LISTEN for new deliveries; until it works (or if it breaks), workers just poll."""
        s = self._settings
        dsn = f"{s.postgres_dsn.rstrip('/')}/{s.database_name}"
        while True:
            conn: Any = None
            try:
                conn = await asyncpg.connect(dsn)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _, lost=lost: lost.set())
                await conn.add_listener(WAKE_CHANNEL, lambda *_: self.wake())
                for _ in range(s.delivery_concurrency):
                    self.wake()  # deliveries queued while nobody listened
                await lost.wait()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("delivery_listener_down", error=repr(exc))
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.shield(conn.close(timeout=2))
            await asyncio.sleep(max(s.delivery_poll_interval_s, 1.0))

    async def _work(self, number: int) -> None:
        while not self._stopping:
            try:
                busy = await self.dispatch_one()
            except Exception:
                log.exception("dispatch_failed", worker=number)
                busy = False
            if not busy and not self._stopping:
                waiter = asyncio.get_running_loop().create_future()
                self._idle.append(waiter)
                try:
                    await asyncio.wait_for(waiter, self._settings.delivery_poll_interval_s)
                except TimeoutError:
                    pass
                finally:
                    with contextlib.suppress(ValueError):
                        self._idle.remove(waiter)

    # --- one delivery ------------------------------------------------------------------

    async def dispatch_one(self) -> bool:
        """Handle the next due delivery; False when none is due."""
        job = await self._claim()
        if job is None:
            return False
        if isinstance(job, Job):
            error, provider_ref = await self._send(job)
            await self._record(job, error, provider_ref)
        return True

    async def _claim(self) -> Job | bool | None:
        """Lock the next due delivery and decide; a Job to send, True when handled here."""
        s = self._settings
        now = self._runtime.clock.now()
        async with self._runtime.uow() as uow:
            row = (
                await uow.conn.execute(
                    sa.select(deliveries, contacts.c.account_id.label("known"), *_contact_cols())
                    .outerjoin(contacts, contacts.c.account_id == deliveries.c.account_id)
                    .where(
                        sa.or_(
                            sa.and_(
                                deliveries.c.status == "queued",
                                deliveries.c.next_attempt_at <= now,
                            ),
                            # A sender that died mid-send: its claim ran out.
                            sa.and_(
                                deliveries.c.status == "sending",
                                deliveries.c.lease_until <= now,
                            ),
                        )
                    )
                    .order_by(deliveries.c.next_attempt_at)
                    .limit(1)
                    .with_for_update(of=deliveries, skip_locked=True)
                )
            ).first()
            if row is None:
                return None
            channel = Channel(row.channel)
            if row.status == "sending":
                log.warning("delivery_lease_expired", delivery=str(row.id), attempts=row.attempts)
                if row.attempts >= s.delivery_max_attempts:
                    await self._fail(uow, row, now, row.attempts, row.destination, "lease_expired")
                    return True
            known = (
                Contacts(
                    secure_phone=row.c_secure_phone,
                    secure_email=row.c_secure_email,
                    message_phone=row.c_message_phone,
                    contact_email=row.c_contact_email,
                    language=row.c_language,
                )
                if row.known is not None
                else None
            )
            decision = decide(
                message_type=row.message_type,
                category=Category(row.category),
                channel=channel,
                destination=row.destination,
                contacts=known,
                created_at=row.created_at,
                now=now,
                contacts_grace=timedelta(seconds=s.delivery_contacts_grace_s),
            )
            if isinstance(decision, Wait):
                await _update(uow, row.id, next_attempt_at=decision.until)
                return True
            if isinstance(decision, Skip):
                await _update(
                    uow,
                    row.id,
                    status="skipped",
                    last_error=decision.reason,
                    finished_at=now,
                    params=scrub(row.message_type, row.params),
                )
                log.info("delivery_skipped", delivery=str(row.id), reason=decision.reason)
                return True
            if isinstance(decision, Fail):
                await self._fail(uow, row, now, row.attempts, None, decision.reason)
                return True
            assert isinstance(decision, Send)
            language = row.language or (known.language if known else None)
            try:
                rendered = render(row.message_type, language, dict(row.params))
            except (UnknownTemplate, TemplateError) as exc:
                await self._fail(
                    uow, row, now, row.attempts, decision.destination, f"render_failed: {exc}"
                )
                return True
            token = uuid.uuid4()
            attempts = row.attempts + 1
            await _update(
                uow,
                row.id,
                status="sending",
                attempts=attempts,
                lease_until=now + timedelta(seconds=s.delivery_lease_s),
                claim_token=token,
                destination=decision.destination,
                destination_masked=mask(channel.value, decision.destination),
                language=language,
            )
        return Job(
            id=row.id,
            claim_token=token,
            source_event_id=row.source_event_id,
            account_id=row.account_id,
            message_type=row.message_type,
            category=row.category,
            channel=channel,
            destination=decision.destination,
            language=language,
            params=dict(row.params),
            attempts=attempts,
            rendered=rendered,
        )

    async def _send(self, job: Job) -> tuple[DeliveryError | None, str | None]:
        """Call the provider: the error if it failed, else the provider's reference."""
        provider_ref: str | None = None
        try:
            async with asyncio.timeout(self._settings.delivery_lease_s / 2):
                if job.channel is Channel.SMS:
                    kind = kind_of(job.message_type)
                    provider_ref = await self._sms.send(
                        Sms(
                            to=job.destination,
                            template_id=sms_template_id(job.message_type, job.language),
                            template_params=tuple(job.params.get(p, "") for p in kind.params),
                            content=job.rendered.sms,
                            idempotency_key=str(job.id),
                        )
                    )
                else:
                    await self._mailer.send(
                        Email(
                            to=job.destination,
                            subject=job.rendered.subject,
                            text=job.rendered.text,
                            html=job.rendered.html,
                            idempotency_key=str(job.id),
                        )
                    )
        except DeliveryError as exc:
            return exc, None
        except TimeoutError:
            return DeliveryError("provider timed out", permanent=False), None
        except Exception as exc:
            log.exception("delivery_send_crashed", delivery=str(job.id))
            return DeliveryError(f"{type(exc).__name__}", permanent=False), None
        return None, provider_ref

    async def _record(
        self, job: Job, error: DeliveryError | None, provider_ref: str | None
    ) -> None:
        s = self._settings
        now = self._runtime.clock.now()
        async with self._runtime.uow() as uow:
            mine = (
                await uow.conn.execute(
                    sa.select(deliveries)
                    .where(
                        deliveries.c.id == job.id,
                        deliveries.c.claim_token == job.claim_token,
                        deliveries.c.status == "sending",
                    )
                    .with_for_update()
                )
            ).first()
            if mine is None:
                # Our lease ran out and another worker took the delivery over: its outcome
                # counts (the provider dropped whichever send came second).
                log.warning("delivery_claim_lost", delivery=str(job.id))
                return
            if error is None:
                await _update(
                    uow,
                    job.id,
                    status="sent",
                    finished_at=now,
                    lease_until=None,
                    claim_token=None,
                    destination=None,
                    params=scrub(job.message_type, job.params),
                    provider_ref=provider_ref,
                )
                await uow.emit(
                    Topic.NOTIFIER_EVENTS,
                    new_envelope(
                        NotificationSent(
                            source_event_id=str(job.source_event_id),
                            message_type=job.message_type,
                            channel=job.channel,
                            destination_masked=mask(job.channel.value, job.destination),
                            attempts=job.attempts,
                            sent_at=now,
                        ),
                        producer=PRODUCER,
                        account_id=job.account_id,
                    ),
                )
                log.info(
                    "delivery_sent",
                    delivery=str(job.id),
                    type=job.message_type,
                    channel=job.channel.value,
                    attempts=job.attempts,
                )
                return
            message = redact(str(error), job.destination, job.channel)
            outcome = after_failure(
                permanent=error.permanent,
                error=message,
                attempts=job.attempts,
                max_attempts=s.delivery_max_attempts,
                base_s=s.delivery_backoff_s,
                max_s=s.delivery_backoff_max_s,
                rng=self._rng,
            )
            if isinstance(outcome, GiveUp):
                await self._fail(uow, mine, now, job.attempts, job.destination, outcome.reason)
                return
            await _update(
                uow,
                job.id,
                status="queued",
                last_error=message,
                lease_until=None,
                claim_token=None,
                next_attempt_at=now + timedelta(seconds=outcome.delay_s),
            )
            log.warning(
                "delivery_retry",
                delivery=str(job.id),
                attempts=job.attempts,
                delay_s=round(outcome.delay_s, 3),
                error=message,
            )

    async def _fail(
        self,
        uow: UnitOfWork,
        row: Any,
        now: datetime,
        attempts: int,
        destination: str | None,
        reason: str,
    ) -> None:
        """Failed for good: the record, NotificationFailed and a dead letter, together."""
        channel = Channel(row.channel)
        destination = destination or row.destination
        masked = mask(channel.value, destination) if destination else row.destination_masked
        reason = redact(reason, destination, channel)
        params = scrub(row.message_type, row.params)
        await _update(
            uow,
            row.id,
            status="failed",
            attempts=attempts,
            last_error=reason,
            finished_at=now,
            lease_until=None,
            claim_token=None,
            destination=None,
            destination_masked=masked,
            params=params,
        )
        await uow.emit(
            Topic.NOTIFIER_EVENTS,
            new_envelope(
                NotificationFailed(
                    source_event_id=str(row.source_event_id),
                    message_type=row.message_type,
                    channel=channel,
                    destination_masked=masked,
                    attempts=attempts,
                    reason=reason,
                    failed_at=now,
                ),
                producer=PRODUCER,
                account_id=row.account_id,
            ),
        )
        await dead_letter(
            uow,
            DeliveryDeadLettered(
                delivery_id=str(row.id),
                source_event_id=str(row.source_event_id),
                message_type=row.message_type,
                category=row.category,
                channel=channel,
                destination_masked=masked,
                language=row.language,
                params=params,
                attempts=attempts,
                reason=reason,
                failed_at=now,
            ),
            account_id=row.account_id,
            topic_prefix=self._settings.kafka_topic_prefix,
        )
        log.warning(
            "delivery_failed",
            delivery=str(row.id),
            type=row.message_type,
            channel=channel.value,
            attempts=attempts,
            reason=reason,
        )


def _contact_cols() -> list[sa.Label[Any]]:
    return [
        contacts.c[name].label(f"c_{name}")
        for name in ("secure_phone", "secure_email", "message_phone", "contact_email", "language")
    ]


async def _update(uow: UnitOfWork, delivery_id: Any, **values: Any) -> None:
    await uow.conn.execute(
        deliveries.update().where(deliveries.c.id == delivery_id).values(**values)
    )
