"""Timers (ARCHITECTURE "Timers"): due rows in the owning service's PostgreSQL, claimed
`FOR UPDATE SKIP LOCKED` with a lease and a claim token, fired once each.

- `model`: the pure data (Timer, Claimed, TimerState) and the retry backoff;
- `table`: the timers table a service declares in its own metadata;
- `repository`: the only SQL (schedule, cancel, claim, finish, retry);
- `runner`: fires a claimed timer's effect and ends it in one transaction;
- `worker`: the background loop (a ServiceSpec.workers entry) that drives the runner;
- `settings`: `TimerSettings`, the worker's settings and the retention of finished timers;
- `retention`: `finished_timers`, the ServiceSpec.expiring entry that prunes finished rows.

The kinds and their effects stay in each service."""

from shared.timers.model import MAX_BACKOFF, Claimed, Timer, TimerState, retry_at
from shared.timers.repository import TimerRepository
from shared.timers.retention import finished_timers
from shared.timers.runner import TimerEffect, TimerRunner
from shared.timers.settings import TimerSettings
from shared.timers.table import timers_table
from shared.timers.worker import TimerWorker

__all__ = [
    "MAX_BACKOFF",
    "Claimed",
    "Timer",
    "TimerEffect",
    "TimerRepository",
    "TimerRunner",
    "TimerSettings",
    "TimerState",
    "TimerWorker",
    "finished_timers",
    "retry_at",
    "timers_table",
]
