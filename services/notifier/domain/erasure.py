"""Erasure of an account's data in the notifier (CAN-7): when, and what is kept. Pure.

`CancellationCompleted` records one erasure per account (the `erasures` row: which
application, the bound, when it was erased, whether it was confirmed) and schedules an
`erasure` timer for it (shared/timers, ARCHITECTURE "Timers"). The completion notice must
reach the person first (CAN-8), and deliveries are sent asynchronously by the courier, so the
erasure waits until the account has no delivery pending (each one sent or failed for good)
and none of the notifier's events about it waits in the outbox; `erase_by` bounds the wait:
then it erases whatever is pending.

    timer fires --(nothing pending, or erase_by passed)--> erased (timer done)
    timer fires --(still pending)--> the same timer due again at the recheck (postponed)
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


class TimerKind(StrEnum):
    """The notifier's timers (shared/timers); `ref` is the account id."""

    ERASURE = "erasure"


@dataclass(frozen=True)
class Erasure:
    """One account's erasure record, as the timer's effect sees it."""

    account_id: str
    application_id: str | None
    erase_by: datetime
    erased_at: datetime | None = None
    source_event_id: uuid.UUID | None = None
    correlation_id: uuid.UUID | None = None


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
