"""What comes due, for which account and which thing; pure data and the retry backoff."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class TimerState(StrEnum):
    SCHEDULED = "scheduled"
    CLAIMED = "claimed"  # a worker holds it until lease_until
    DONE = "done"
    CANCELLED = "cancelled"


LIVE = (TimerState.SCHEDULED.value, TimerState.CLAIMED.value)


@dataclass(frozen=True)
class Timer:
    """One due row. `kind` is the owning service's (a StrEnum value there); `ref` names the
    thing it ends (an attempt id, an application id)."""

    id: int
    kind: str
    account_id: str
    ref: str
    due_at: datetime
    attempts: int


@dataclass(frozen=True)
class Claimed:
    """A timer a worker claimed: it may end it only while `token` is still the row's."""

    timer: Timer
    token: uuid.UUID


MAX_BACKOFF = timedelta(minutes=10)


def retry_at(now: datetime, attempts: int, base: timedelta) -> datetime:
    """When a timer whose effect failed is due again: doubling from `base`, capped."""
    factor = 1 << min(20, max(0, attempts - 1))
    return now + min(base * factor, MAX_BACKOFF)
