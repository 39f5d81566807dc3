"""The settings of a service with timers (its settings class derives from `TimerSettings`):
the worker's machinery and how long finished timer rows are kept. The same names and
defaults in every such service."""

from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class TimerSettings(ServiceSettings):
    """ServiceSettings plus the timer worker's (shared/timers/worker.py) and the retention of
    finished timers (shared/timers/retention.py)."""

    timer_poll_interval_s: float = Field(
        1.0, gt=0, description="How often the timer worker looks for due timers when idle."
    )
    timer_claim_batch: int = Field(
        50, ge=1, le=1000, description="Timers claimed in one transaction."
    )
    timer_lease_s: float = Field(
        60.0,
        gt=0,
        description="How long a claimed timer is a worker's; a timer claimed by a process "
        "that died is due again after it.",
    )
    timer_retry_backoff_s: float = Field(
        5.0,
        gt=0,
        description="First wait before a timer whose effect failed fires again "
        "(doubling, at most 10 minutes).",
    )
    timer_retention_s: float = Field(
        604800.0,
        gt=0,
        description="How long finished (done or cancelled) timer rows are kept (seconds; 7 "
        "days); the retention pruner deletes them after it. Live timers are never pruned.",
    )
