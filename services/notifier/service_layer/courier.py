"""The courier's use cases (NOT-3): claim due deliveries, send one, record outcomes.

Sending a delivery is two short transactions around the provider call:

1. `claim` (a batch): lock due rows (`FOR UPDATE SKIP LOCKED`), decide each (send, wait for
   contacts, skip the channel, fail), and commit the ones to send as `sending` with a lease
   and a fresh claim token;
2. `send` with the delivery id as the idempotency key (the SMS provider's client request id,
   the email's Message-ID), giving up after half the lease;
3. `record` (a batch): commit each outcome with its `NotificationSent`/`NotificationFailed`
   event (and a dead letter) through the outbox, only where the claim token is still ours.

A process killed between 1 and 3 leaves the row `sending`; when its lease runs out another
worker resends it with the same idempotency key. The worker pool that drives these is
`entrypoints/courier_pool.py`; which crash windows can repeat a message is in the README.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.notifier.adapters.ports import DeliveryError, Email, Mailer, Sms, SmsSender
from services.notifier.adapters.repository import DeliveryRepository
from services.notifier.domain.catalogue import kind_of
from services.notifier.domain.delivery import (
    Delivery,
    DeliveryStatus,
    Fail,
    GiveUp,
    Send,
    Skip,
    Wait,
    after_failure,
    decide,
    outcome_event_id,
    redact,
)
from services.notifier.domain.templates import (
    Rendered,
    TemplateError,
    UnknownTemplate,
    render,
    sms_template_id,
)
from services.notifier.service_layer.failures import record_failure
from services.notifier.settings import NotifierSettings
from shared.clock import Clock
from shared.events import (
    Channel,
    Envelope,
    NotificationSent,
    Topic,
    new_envelope,
)
from shared.logging import get_logger
from shared.unit_of_work import UnitOfWork

log = get_logger(__name__)
PRODUCER = "notifier"


@dataclass(frozen=True)
class Job:
    """A delivery claimed for sending: its state as claimed, and the message to send."""

    delivery: Delivery
    claim_token: uuid.UUID
    rendered: Rendered


@dataclass(frozen=True)
class Outcome:
    """What the provider said: `error` None means accepted."""

    job: Job
    error: DeliveryError | None = None
    provider_ref: str | None = None


class Courier:
    """Claims, sends and records deliveries; the pool in entrypoints/ decides when."""

    def __init__(
        self,
        *,
        unit_of_work: Callable[[], UnitOfWork],
        clock: Clock,
        settings: NotifierSettings,
        mailer: Mailer,
        sms: SmsSender,
        rng: random.Random | None = None,
    ) -> None:
        self._uow = unit_of_work
        self._clock = clock
        self._s = settings
        self._mailer = mailer
        self._sms = sms
        self._rng = rng or random.Random()

    async def aclose(self) -> None:
        """Close the providers' pooled connections."""
        await self._sms.aclose()
        await self._mailer.aclose()

    # --- 1. claim ----------------------------------------------------------------------

    async def claim(self, limit: int) -> tuple[list[Job], int]:
        """Claim up to `limit` due deliveries: the jobs to send now, and how many due rows
        were handled (sent to send, waited, skipped or failed)."""
        s = self._s
        now = self._clock.now()
        jobs: list[Job] = []
        async with self._uow() as uow:
            repo = DeliveryRepository(uow.conn)
            due = await repo.lock_due(now, limit)
            for delivery, known in due:
                if delivery.status is DeliveryStatus.SENDING:
                    log.warning(
                        "delivery_lease_expired",
                        delivery=str(delivery.id),
                        attempts=delivery.attempts,
                    )
                    if delivery.attempts >= s.delivery_max_attempts:
                        await self._fail(uow, delivery, now, "lease_expired")
                        continue
                decision = decide(
                    message_type=delivery.message_type,
                    category=delivery.category,
                    channel=delivery.channel,
                    destination=delivery.destination,
                    contacts=known,
                    created_at=delivery.created_at,
                    now=now,
                    contacts_grace=timedelta(seconds=s.delivery_contacts_grace_s),
                )
                if isinstance(decision, Wait):
                    delivery.wait(now, decision.until)
                elif isinstance(decision, Skip):
                    delivery.skip(now, decision.reason)
                    log.info("delivery_skipped", delivery=str(delivery.id), reason=decision.reason)
                elif isinstance(decision, Fail):
                    await self._fail(uow, delivery, now, decision.reason)
                else:
                    language = delivery.language or (known.language if known else None)
                    prepared = self._prepare(delivery, decision, language, now)
                    if isinstance(prepared, Job):
                        jobs.append(prepared)
                    else:
                        await self._fail(
                            uow, delivery, now, prepared, destination=decision.destination
                        )
            await repo.save(d for d, _ in due)
        return jobs, len(due)

    def _prepare(
        self, delivery: Delivery, decision: Send, language: str | None, now: datetime
    ) -> Job | str:
        """Render and claim: the job, or why it cannot be rendered."""
        try:
            rendered = render(
                delivery.message_type, language, dict(delivery.params), channel=delivery.channel
            )
        except (UnknownTemplate, TemplateError) as exc:
            return f"render_failed: {exc}"
        token = delivery.claim(
            now,
            destination=decision.destination,
            language=language,
            lease=timedelta(seconds=self._s.delivery_lease_s),
        )
        # The job keeps its own copy: the claimed state is what the outcome applies to.
        return Job(delivery=_copy(delivery), claim_token=token, rendered=rendered)

    # --- 2. send -----------------------------------------------------------------------

    async def send(self, job: Job) -> Outcome:
        """Call the provider; never raises (a crash of the adapter is a transient failure)."""
        d = job.delivery
        assert d.destination is not None
        try:
            async with asyncio.timeout(self._s.delivery_lease_s / 2):
                if d.channel is Channel.SMS:
                    ref = await self._sms.send(
                        Sms(
                            to=d.destination,
                            template_id=sms_template_id(d.message_type, d.language),
                            template_params=tuple(
                                d.params.get(p, "") for p in kind_of(d.message_type).params
                            ),
                            content=job.rendered.sms,
                            idempotency_key=str(d.id),
                        )
                    )
                    return Outcome(job, provider_ref=ref)
                await self._mailer.send(
                    Email(
                        to=d.destination,
                        subject=job.rendered.subject,
                        text=job.rendered.text,
                        html=job.rendered.html,
                        idempotency_key=str(d.id),
                        date=self._clock.now(),
                    )
                )
                return Outcome(job)
        except DeliveryError as exc:
            return Outcome(job, error=exc)
        except TimeoutError:
            return Outcome(job, error=DeliveryError("provider timed out", permanent=False))
        except Exception as exc:
            log.exception("delivery_send_crashed", delivery=str(d.id))
            return Outcome(job, error=DeliveryError(type(exc).__name__, permanent=False))

    # --- 3. record ---------------------------------------------------------------------

    async def record(self, outcomes: Sequence[Outcome]) -> None:
        """Commit the outcomes in one transaction, each only if its claim is still ours."""
        s = self._s
        now = self._clock.now()
        async with self._uow() as uow:
            repo = DeliveryRepository(uow.conn)
            updated: list[Delivery] = []
            for outcome in outcomes:
                d = _copy(outcome.job.delivery)
                if outcome.error is None:
                    d.sent(now, outcome.provider_ref)
                    updated.append(d)
                    continue
                message = redact(str(outcome.error), d.destination, d.channel)
                after = after_failure(
                    permanent=outcome.error.permanent,
                    error=message,
                    attempts=d.attempts,
                    max_attempts=s.delivery_max_attempts,
                    base_s=s.delivery_backoff_s,
                    max_s=s.delivery_backoff_max_s,
                    rng=self._rng,
                )
                updated.append(d)
                if isinstance(after, GiveUp):
                    d.fail(now, after.reason)
                else:
                    d.retry(now, after.delay_s, message)
                    log.warning(
                        "delivery_retry",
                        delivery=str(d.id),
                        attempts=d.attempts,
                        delay_s=round(after.delay_s, 3),
                        error=d.last_error,
                    )
            claims = {o.job.delivery.id: o.job.claim_token for o in outcomes}
            saved = {d.id for d in await repo.save_if_claimed(updated, claims)}
            sent: list[Envelope[NotificationSent]] = []
            for d in updated:
                if d.id not in saved:
                    # Our lease ran out and another worker took the delivery over: its
                    # outcome counts.
                    log.warning("delivery_claim_lost", delivery=str(d.id))
                elif d.status is DeliveryStatus.SENT:
                    sent.append(self._sent(d))
                elif d.status is DeliveryStatus.FAILED:
                    await self._failed(uow, d)
            await uow.emit_all(Topic.NOTIFIER_EVENTS, sent)

    def _sent(self, d: Delivery) -> Envelope[NotificationSent]:
        """The NotificationSent of a delivery just recorded as sent."""
        assert d.finished_at is not None and d.destination_masked is not None
        log.info(
            "delivery_sent",
            delivery=str(d.id),
            type=d.message_type,
            channel=d.channel.value,
            attempts=d.attempts,
        )
        envelope = new_envelope(
            NotificationSent(
                source_event_id=str(d.source_event_id),
                message_type=d.message_type,
                channel=d.channel,
                destination_masked=d.destination_masked,
                attempts=d.attempts,
                sent_at=d.finished_at,
            ),
            producer=PRODUCER,
            account_id=d.account_id,
            occurred_at=d.finished_at,
            correlation_id=d.correlation_id,
            causation_id=d.source_event_id,
        )
        # Derived from the delivery: the erasure finds it in the outbox by this id.
        event_id = outcome_event_id(d.id, NotificationSent.event_type)
        return envelope.model_copy(update={"event_id": event_id})

    async def _fail(
        self,
        uow: UnitOfWork,
        d: Delivery,
        now: datetime,
        reason: str,
        *,
        destination: str | None = None,
    ) -> None:
        d.fail(now, reason, destination=destination)
        await self._failed(uow, d)

    async def _failed(self, uow: UnitOfWork, d: Delivery) -> None:
        """Failed for good: NotificationFailed and a dead letter, with the record."""
        await record_failure(uow, d)


def _copy(delivery: Delivery) -> Delivery:
    return dataclasses.replace(delivery, params=dict(delivery.params))
