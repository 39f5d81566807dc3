"""Timers (ARCHITECTURE "Timers"): what comes due, for which account and which thing.

A timer is a row with a `due_at`; the worker claims due rows with a lease and fires each
once (its effect and its end in one transaction). Pure data here; the storage is
adapters/timers.py, the firing service_layer/timers.py."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class TimerKind(StrEnum):
    """What a timer ends. `ref` names the thing (an attempt id, a review id)."""

    RECHARGE_WINDOW = "recharge_window"  # RN-5: 7 days to pay the random amount
    REMITTANCE_WINDOW = "remittance_window"  # RN-5: 7 days to enter the amount received
    CHANGE_REVIEW = "change_review"  # RN-11: the review period of a change (escalation)
    RECHECK_SWEEP = "enterprise_recheck_sweep"  # RN-13: re-check the enterprises due (one)
    RECHECK_GRACE = "enterprise_recheck_grace"  # RN-13: a notice's grace period (per account)


class TimerState(StrEnum):
    SCHEDULED = "scheduled"
    CLAIMED = "claimed"  # a worker holds it until lease_until
    DONE = "done"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Timer:
    id: int
    kind: TimerKind
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
