"""shared/operator_audit.py in each service's own database, as its migrations build it: the
recorder writes in the caller's transaction (MFA-4, REC-2, RN-7, RN-11, CAN-6 audit their
decisions with it), and an erasure (CAN-7) redacts what an account's rows quoted of the
person and nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

import services
from devkit.testing.infra import Scope
from services.cancellation.adapters import tables as cancellation_tables
from services.identity.adapters import tables as identity_tables
from services.verification.adapters import tables as verification_tables
from shared.db import drop_database, ensure_database, migrate
from shared.operator_audit import ERASED_DETAILS, record_operator_action, redact_operator_notes
from shared.settings import ServiceSettings

pytestmark = pytest.mark.integration

TABLES = {
    "identity": identity_tables.operator_actions,
    "verification": verification_tables.operator_actions,
    "cancellation": cancellation_tables.operator_actions,
}
AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PHONE = "8613800138000"


class Boom(Exception):
    pass


@pytest.fixture(params=sorted(TABLES))
async def audited(scope: Scope, request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, Any]]:
    """A freshly migrated database of the service and an engine on it."""
    service: str = request.param
    settings = scope.settings(ServiceSettings, service_name=service)
    await ensure_database(settings.postgres_dsn, settings.database_name)
    engine: AsyncEngine = create_async_engine(settings.database_url)
    try:
        await migrate(
            settings.database_url, Path(services.__file__).parent / service / "migrations"
        )
        yield service, engine
    finally:
        await engine.dispose()
        await drop_database(settings.postgres_dsn, settings.database_name)


async def rows(engine: AsyncEngine, table: sa.Table) -> list[Any]:
    async with engine.connect() as conn:
        return list(await conn.execute(sa.select(table).order_by(table.c.id)))


async def test_can_6_mfa_4_a_decision_is_recorded_in_the_callers_transaction(
    audited: tuple[str, AsyncEngine],
) -> None:
    """MFA-4, REC-2, RN-7, CAN-6: a rolled-back decision leaves no audit row; a committed one
    leaves exactly one, with every column of the shared set."""
    service, engine = audited
    table = TABLES[service]
    with pytest.raises(Boom):
        async with engine.begin() as conn:
            await record_operator_action(
                conn, table, at=AT, operator_id="op-1", action="x", subject="s:1", account_id=7
            )
            raise Boom
    assert await rows(engine, table) == []

    async with engine.begin() as conn:
        await record_operator_action(
            conn,
            table,
            at=AT,
            operator_id="op-1",
            action="enterprise_limit_set",
            subject="uscc:91110000MA01",
            account_id=100000000001,
            reason="ticket 4711",
            details={"limit": 20, "previous": None},
        )
    [row] = await rows(engine, table)
    assert (row.at, row.operator_id, row.action, row.subject, row.account_id, row.reason) == (
        AT,
        "op-1",
        "enterprise_limit_set",
        "uscc:91110000MA01",
        "100000000001",
        "ticket 4711",
    )
    assert row.details == {"limit": 20, "previous": None}


async def test_can_7_an_erasure_redacts_the_accounts_rows_only(
    audited: tuple[str, AsyncEngine],
) -> None:
    """CAN-7: the erased account's rows stay; what their reason, subject and details quoted
    of the person goes (details as a whole: replacing inside JSON could break it); another
    account's row that quotes the same value is not the erasure's business."""
    service, engine = audited
    table = TABLES[service]
    async with engine.begin() as conn:
        for account, reason, details in [
            ("1", f"called from {PHONE}", None),
            ("1", "checked", {"phone": PHONE}),
            ("1", "nothing personal", {"limit": 3}),
            ("2", f"called from {PHONE}", None),
        ]:
            await record_operator_action(
                conn,
                table,
                at=AT,
                operator_id="op-1",
                action="a",
                subject=f"appeal:{PHONE}" if details is None else "mfa",
                account_id=account,
                reason=reason,
                details=details,
            )
        changed = await redact_operator_notes(conn, table, 1, [PHONE], redacted="[erased]")
    assert changed == 2
    found = [(r.account_id, r.subject, r.reason, r.details) for r in await rows(engine, table)]
    assert found == [
        ("1", "appeal:[erased]", "called from [erased]", None),
        ("1", "mfa", "checked", ERASED_DETAILS),
        ("1", "mfa", "nothing personal", {"limit": 3}),
        ("2", f"appeal:{PHONE}", f"called from {PHONE}", None),
    ]
