"""Finished timers leave with retention (ARCHITECTURE "Timers", shared/timers/retention.py):
in every service with a timers table (verification, cancellation, the notifier), the
retention pruner deletes `done` and `cancelled` timer rows finished TIMER_RETENTION_S ago, and
never a live one (scheduled, claimed, or postponed), however old. Real PostgreSQL, each
service's own migrations and its ServiceSpec's expiring tables."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from devkit.testing.infra import Scope
from services.cancellation.main import spec as cancellation_spec
from services.cancellation.settings import CancellationSettings
from services.notifier.main import spec as notifier_spec
from services.notifier.settings import NotifierSettings
from services.verification.main import spec as verification_spec
from services.verification.settings import VerificationSettings
from shared.db import drop_database, ensure_database, make_engine, migrate
from shared.retention import RetentionPruner
from shared.service import ServiceSpec
from shared.timers.settings import TimerSettings

pytestmark = pytest.mark.integration

SERVICES: dict[str, tuple[type[TimerSettings], Callable[[Any], ServiceSpec]]] = {
    "verification": (VerificationSettings, verification_spec),
    "cancellation": (CancellationSettings, cancellation_spec),
    "notifier": (NotifierSettings, notifier_spec),
}
RETENTION_S = 3600
# ref -> (state, done_at as an age, due_at as an age): what each row is and whether it stays.
ROWS: dict[str, tuple[str, timedelta | None, timedelta]] = {
    "done-old": ("done", timedelta(hours=2), timedelta(hours=3)),
    "cancelled-old": ("cancelled", timedelta(hours=2), timedelta(hours=3)),
    "done-recent": ("done", timedelta(minutes=10), timedelta(hours=3)),
    "cancelled-recent": ("cancelled", timedelta(minutes=10), timedelta(hours=3)),
    "scheduled-old": ("scheduled", None, timedelta(days=30)),
    "claimed-old": ("claimed", None, timedelta(days=30)),
}
PRUNED = {"done-old", "cancelled-old"}


@pytest.mark.parametrize("service", list(SERVICES))
async def test_finished_timers_past_retention_are_pruned_and_live_ones_stay(
    scope: Scope, service: str
) -> None:
    settings_type, make_spec = SERVICES[service]
    settings = scope.settings(settings_type, timer_retention_s=RETENTION_S)
    spec = make_spec(settings)
    await ensure_database(settings.postgres_dsn, settings.database_name)
    engine = make_engine(settings.database_url)
    try:
        await migrate(settings.database_url, Path(spec.migrations))
        async with engine.begin() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
            for ref, (state, done_age, due_age) in ROWS.items():
                await raw.execute(
                    """INSERT INTO timers (kind, account_id, ref, state, due_at, lease_until,
                                           attempts, created_at, done_at)
                    VALUES ('k', '100000000001', $1, $2, now() - $3::interval,
                            CASE WHEN $2 = 'claimed' THEN now() - interval '1 day' END, 1,
                            now() - interval '31 days', now() - $4::interval)""",
                    ref,
                    state,
                    due_age,
                    done_age,
                )
        pruner = RetentionPruner(
            engine,
            outbox_retention_s=settings.outbox_retention_s,
            inbox_retention_s=settings.inbox_retention_s,
            batch_size=2,  # several batches
            interval_s=3600,
            expiring=spec.expiring,
        )

        pruned = await pruner.prune()

        async with engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
            # (verification's migrations schedule a timer of their own: it stays too)
            rows = await raw.fetch("SELECT ref FROM timers WHERE ref = ANY($1)", list(ROWS))
            left = {r["ref"] for r in rows}
        assert left == set(ROWS) - PRUNED
        assert pruned.expired == len(PRUNED)
    finally:
        await engine.dispose()
        await drop_database(settings.postgres_dsn, settings.database_name)
