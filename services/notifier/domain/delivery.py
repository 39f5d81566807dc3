"""What to do with a due delivery, and when to retry a failed one (NOT-1, NOT-3). Pure."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.notifier.domain.catalogue import CATALOGUE
from services.notifier.domain.routing import Category, Contacts, destination_for, reachable_channels
from shared.events import Channel


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

    A requested message (a one-time code) carries its destination. Otherwise SEC-4 routing
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
    if not kind.requested and reachable_channels(category, kind.channels, contacts):
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
