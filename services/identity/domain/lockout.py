"""Lockout bookkeeping without I/O (LOGIN-2..4): an attempt as the guard counted it, and
which refusals while locked get a summary row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Attempt:
    """A password attempt reserved by LoginGuard.begin, before the password is checked.

    `run_ends` is the end of the run Redis counted it in (its first failure + the window):
    the end a lock of that run has, so it names the run; `streak_since` (Redis ms) names the
    streak of consecutive failures Redis counted it in. `locks_until` is set when this
    attempt completes a run: a failure locks until then; `spends_budget` when it is the last
    failure the budget allows: a failure locks until a reset. `unrecorded_refusals` counts
    refusals of the last lock no summary row holds yet.
    """

    subject: str
    number: int
    run_ends: datetime
    streak_since: int
    locks_until: datetime | None = None
    spends_budget: bool = False
    unrecorded_refusals: int = 0


def summary_due(refusals: int) -> bool:
    """Refusals while locked are recorded at the 1st, 2nd, 4th, 8th...: log2(n) rows."""
    return refusals > 0 and refusals & (refusals - 1) == 0


def since_last_summary(refusals: int) -> int:
    """Refusals a summary row at `refusals` stands for (since the previous summary row)."""
    return 1 if refusals == 1 else refusals // 2


def after_last_summary(refusals: int) -> int:
    """Refusals counted after the last summary row (recorded by the next attempt)."""
    return refusals - (1 << (refusals.bit_length() - 1)) if refusals > 0 else 0
