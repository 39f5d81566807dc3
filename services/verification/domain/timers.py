"""Verification's timers (ARCHITECTURE "Timers"): the kinds of what comes due.

The mechanism (due rows, claim with a lease, fire once) is shared/timers; the effects of
each kind are the use cases' (entrypoints/timer_worker.py maps them)."""

from __future__ import annotations

from enum import StrEnum

from shared.timers.model import MAX_BACKOFF, Claimed, Timer, TimerState, retry_at


class TimerKind(StrEnum):
    """What a timer ends. `ref` names the thing (an attempt id, a review id)."""

    RECHARGE_WINDOW = "recharge_window"  # RN-5: 7 days to pay the random amount
    REMITTANCE_WINDOW = "remittance_window"  # RN-5: 7 days to enter the amount received
    CHANGE_REVIEW = "change_review"  # RN-11: the review period of a change (escalation)
    RECHECK_SWEEP = "enterprise_recheck_sweep"  # RN-13: re-check the enterprises due (one)
    RECHECK_GRACE = "enterprise_recheck_grace"  # RN-13: a notice's grace period (per account)


__all__ = ["MAX_BACKOFF", "Claimed", "Timer", "TimerKind", "TimerState", "retry_at"]
