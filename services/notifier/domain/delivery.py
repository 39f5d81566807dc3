"""A delivery, the courier's queue item: its states and their transitions, what to do with a
due one, and when to retry a failed one (NOT-1, NOT-3). Pure: no I/O.

    queued  --claim-->  sending  --sent-->  sent
    queued  --wait-->   queued (look again later: contacts not arrived)
    queued  --skip-->   skipped (no such channel, another one reaches the person)
    sending --retry-->  queued (transient failure, after a backoff)
    queued | sending --fail--> failed (for good)

A `sending` delivery whose lease ran out (its sender died) may be claimed again: the resend
carries the same idempotency key (the delivery id).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from services.notifier.domain.catalogue import CATALOGUE, scrub
from services.notifier.domain.routing import Category, Contacts, destination_for, reachable_channels
from shared.events import Channel
from shared.masking import mask_email, mask_phone


class DeliveryStatus(StrEnum):
    QUEUED = "queued"  # waiting for its next attempt (next_attempt_at)
    SENDING = "sending"  # claimed by a sender until lease_until
    SENT = "sent"
    FAILED = "failed"  # for good: NotificationFailed and a dead letter
    SKIPPED = "skipped"  # this channel does not exist, another one reaches the person

    @property
    def finished(self) -> bool:
        return self in (DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.SKIPPED)


class IllegalTransition(RuntimeError):
    """A delivery was asked to move where its state machine does not go."""


def mask(channel: Channel, destination: str) -> str:
    """The form of a destination that records, events and logs keep."""
    return mask_phone(destination) if channel is Channel.SMS else mask_email(destination)


def redact(text: str, destination: str | None, channel: Channel) -> str:
    """Provider errors may echo the address: keep only its masked form."""
    if destination:
        text = text.replace(destination, mask(channel, destination))
    return text[:1000]


@dataclass
class Delivery:
    """One message on one channel for one event: the queue item and the delivery record.

    The destination is in clear only while the delivery is pending; a finished record keeps
    its masked form, and its one-time codes scrubbed (CODE-3).
    """

    id: uuid.UUID
    source_event_id: uuid.UUID
    account_id: str
    message_type: str
    category: Category
    channel: Channel
    destination: str | None
    destination_masked: str | None
    language: str | None
    params: dict[str, str]
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    last_error: str | None = None
    lease_until: datetime | None = None
    claim_token: uuid.UUID | None = None
    provider_ref: str | None = None
    finished_at: datetime | None = field(default=None)
    correlation_id: uuid.UUID | None = None  # of the source event (traceability)

    def is_due(self, now: datetime) -> bool:
        if self.status is DeliveryStatus.QUEUED:
            return self.next_attempt_at <= now
        return self.status is DeliveryStatus.SENDING and self.lease_expired(now)

    def lease_expired(self, now: datetime) -> bool:
        return self.lease_until is not None and self.lease_until <= now

    def _require_due(self, now: datetime, action: str) -> None:
        if not self.is_due(now):
            raise IllegalTransition(f"{action}: delivery {self.id} is {self.status} and not due")

    def claim(
        self, now: datetime, *, destination: str, language: str | None, lease: timedelta
    ) -> uuid.UUID:
        """queued (or sending with an expired lease) -> sending; returns the claim token
        that the outcome must still match when it is recorded."""
        self._require_due(now, "claim")
        self.status = DeliveryStatus.SENDING
        self.attempts += 1
        self.lease_until = now + lease
        self.claim_token = uuid.uuid4()
        self.destination = destination
        self.destination_masked = mask(self.channel, destination)
        self.language = language
        return self.claim_token

    def wait(self, now: datetime, until: datetime) -> None:
        """Not yet: look again at `until` (the account's contacts have not arrived)."""
        self._require_due(now, "wait")
        self.status = DeliveryStatus.QUEUED
        self.lease_until = self.claim_token = None
        self.next_attempt_at = until

    def skip(self, now: datetime, reason: str) -> None:
        self._require_due(now, "skip")
        self._finish(DeliveryStatus.SKIPPED, now)
        self.last_error = reason

    def sent(self, now: datetime, provider_ref: str | None) -> None:
        if self.status is not DeliveryStatus.SENDING:
            raise IllegalTransition(f"sent: delivery {self.id} is {self.status}")
        self._finish(DeliveryStatus.SENT, now)
        self.provider_ref = provider_ref

    def retry(self, now: datetime, delay_s: float, error: str) -> None:
        """sending -> queued, due again after the backoff."""
        if self.status is not DeliveryStatus.SENDING:
            raise IllegalTransition(f"retry: delivery {self.id} is {self.status}")
        self.status = DeliveryStatus.QUEUED
        self.last_error = redact(error, self.destination, self.channel)
        self.lease_until = self.claim_token = None
        self.next_attempt_at = now + timedelta(seconds=delay_s)

    def fail(self, now: datetime, reason: str, *, destination: str | None = None) -> str:
        """Failed for good, from any unfinished state; returns the reason as recorded.
        `destination`: where it was going, when it failed before being claimed."""
        if self.status.finished:
            raise IllegalTransition(f"fail: delivery {self.id} is already {self.status}")
        self.destination = destination or self.destination
        self.last_error = redact(reason, self.destination, self.channel)
        self._finish(DeliveryStatus.FAILED, now)
        return self.last_error

    def fail_erased(self, now: datetime, reason: str) -> None:
        """The account was erased with this delivery still pending (CAN-7, at the erasure's
        bound): failed for good, keeping neither its destination (not even masked) nor its
        parameters."""
        self.destination = self.destination_masked = None
        self.fail(now, reason)
        self.params = {}

    def _finish(self, status: DeliveryStatus, now: datetime) -> None:
        if self.destination:
            self.destination_masked = mask(self.channel, self.destination)
        self.status = status
        self.finished_at = now
        self.lease_until = self.claim_token = None
        self.destination = None
        self.params = scrub(self.message_type, self.params)


def outcome_event_id(delivery_id: uuid.UUID, event_type: str) -> uuid.UUID:
    """The event_id of a delivery's outcome event (NotificationSent, NotificationFailed,
    DeliveryDeadLettered): derived from the delivery, since a delivery finishes once. The
    erasure finds the account's outcome events in the outbox by these ids (its unique index),
    without a scan of the outbox."""
    return uuid.uuid5(delivery_id, event_type)


@dataclass(frozen=True)
class Send:
    destination: str


@dataclass(frozen=True)
class Wait:
    """The account's contacts have not arrived yet (identity.contacts is its own topic)."""

    until: datetime


@dataclass(frozen=True)
class Skip:
    """The account has no address on this channel but is reached on another one."""

    reason: str


@dataclass(frozen=True)
class Fail:
    reason: str


Decision = Send | Wait | Skip | Fail


def decide(
    *,
    message_type: str,
    category: Category,
    channel: Channel,
    destination: str | None,
    contacts: Contacts | None,
    created_at: datetime,
    now: datetime,
    contacts_grace: timedelta,
) -> Decision:
    """Send, wait for contacts, skip this channel, or fail the delivery.

    A requested message (a one-time code, an appeal decision for the appeal's email)
    carries its destination. Otherwise SEC-4 routing
    picks it from the account's contacts. A channel the account does not have is skipped
    while another channel of the message reaches the person; when none does, it fails:
    nothing is dropped silently.
    """
    kind = CATALOGUE.get(message_type)
    if kind is None:
        return Fail("unknown_message_type")
    if destination is None and contacts is not None:
        destination = destination_for(category, channel, contacts)
    if destination is not None:
        return Send(destination)
    if contacts is None:
        if now - created_at < contacts_grace:
            return Wait(now + min(timedelta(seconds=1), contacts_grace))
        return Fail("no_destination")
    # A requested delivery always carries its destination, so this is a routed one (a type
    # that may be requested, like appeal_decided, is routed too).
    if reachable_channels(category, kind.channels, contacts):
        return Skip(f"no_{channel.value}_destination")
    return Fail("no_destination")


@dataclass(frozen=True)
class Retry:
    delay_s: float


@dataclass(frozen=True)
class GiveUp:
    reason: str


def retry_delay(
    attempts: int, *, base_s: float, max_s: float, rng: random.Random | None = None
) -> float:
    """Exponential backoff with jitter: the ceiling doubles per attempt up to max_s, and the
    delay is drawn from [ceiling/2, ceiling] so that retries of many deliveries spread out."""
    ceiling = min(base_s * 2 ** max(attempts - 1, 0), max_s)
    return (rng or random).uniform(ceiling / 2, ceiling)


def after_failure(
    *,
    permanent: bool,
    error: str,
    attempts: int,
    max_attempts: int,
    base_s: float,
    max_s: float,
    rng: random.Random | None = None,
) -> Retry | GiveUp:
    """A permanent refusal fails at once; a transient one is retried until attempts run out."""
    if permanent:
        return GiveUp(f"permanent: {error}")
    if attempts >= max_attempts:
        return GiveUp(f"retries_exhausted after {attempts} attempts: {error}")
    return Retry(retry_delay(attempts, base_s=base_s, max_s=max_s, rng=rng))
