"""Finished timers leave with the retention pruner (shared/retention.py): a service with a
timers table adds `finished_timers(...)` to its `ServiceSpec.expiring`.

`done_at` is set when a timer ends (`done` or `cancelled`) and only then: a live timer
(scheduled, claimed, or postponed again) has none, so it is never pruned."""

from __future__ import annotations

import sqlalchemy as sa

from shared.retention import Expiring


def finished_timers(table: sa.Table, retention_s: float) -> Expiring:
    """The rows of `table` (shared.timers.table.timers_table) finished `retention_s` ago."""
    return Expiring(table, column="done_at", key="id", retention_s=retention_s)
