"""Erasure of an account's data in the notifier (CAN-7): when, and what is kept. Pure.

`CancellationCompleted` schedules one erasure per account as a due row (ARCHITECTURE
"Timers"). The completion notice must reach the person first (CAN-8), and deliveries are sent
asynchronously by the courier, so the erasure waits until the account has no delivery pending
(each one sent or failed for good) and none of the notifier's events about it waits in the
outbox; `erase_by` bounds the wait: then it erases whatever is pending.

    scheduled --claim--> claimed --(nothing pending, or erase_by passed)--> done
                         claimed --(still pending)--> scheduled (due again at recheck)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

# What the notifier keeps of an erased account (NotifierDataErased.kept; the README says the
# same): no destination, masked or not, and no template parameter.
KEPT = [
    "delivery records: message type, category, channel, status, attempts, error class, "
    "queued and finished times, source event (no destination, masked or not, and no "
    "parameters)",
    "ids of the events processed (inbox)",
    "the erasure record: account id, application id, when",
]
# The reason a delivery still pending at erase_by fails with.
ACCOUNT_ERASED = "account_erased"
# What stands for a masked destination inside an error message kept after the erasure.
ERASED_MARK = "[erased]"


class ErasureState(StrEnum):
    SCHEDULED = "scheduled"  # due at due_at
    CLAIMED = "claimed"  # a worker holds it until lease_until
    DONE = "done"  # erased (erased_at)


@dataclass(frozen=True)
class Erasure:
    """One account's erasure as the worker sees it."""

    account_id: str
    application_id: str | None
    erase_by: datetime
    attempts: int
    source_event_id: uuid.UUID | None = None
    correlation_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Claimed:
    """An erasure a worker claimed: it may act on it only while `token` is still the row's."""

    erasure: Erasure
    token: uuid.UUID


@dataclass(frozen=True)
class Erase:
    """Erase now; `forced` when erase_by passed with deliveries or events still pending."""

    forced: bool


@dataclass(frozen=True)
class Recheck:
    """Deliveries or outcome events of the account are still pending: look again at `at`."""

    at: datetime


def decide_erasure(
    *, pending: int, now: datetime, erase_by: datetime, recheck: timedelta
) -> Erase | Recheck:
    """Erase once nothing of the account is pending, or at `erase_by` whatever is; else look
    again after `recheck` (never later than `erase_by`)."""
    if pending == 0:
        return Erase(forced=False)
    if now >= erase_by:
        return Erase(forced=True)
    return Recheck(min(now + recheck, erase_by))


MAX_BACKOFF = timedelta(minutes=10)


def retry_at(now: datetime, attempts: int, base: timedelta) -> datetime:
    """When an erasure that failed (an error, rolled back) is due again: doubling, capped."""
    factor = 1 << min(20, max(0, attempts - 1))
    return now + min(base * factor, MAX_BACKOFF)
