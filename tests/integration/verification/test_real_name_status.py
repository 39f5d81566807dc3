"""RN-1, RN-16 and the account projection (ACC-3) over the real broker, PostgreSQL and Redis:
accounts appear unverified from AccountRegistered; every status change is stored in an
append-only history and published (RealNameChanged, plus RealNameVerified when it proves a
real name); a cancelled account is refused, a frozen one may still verify."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from devkit.testing.people import random_resident_id
from shared.events import AccountStatus, AccountStatusChanged, RealNameChanged, RealNameVerified
from tests.integration.verification.conftest import VerificationApp, new_account_id

pytestmark = pytest.mark.integration


async def test_rn_1_a_registered_account_is_unverified_with_an_empty_history(
    verification: VerificationApp,
) -> None:
    account = await verification.register()

    reply = await verification.client.get(
        "/v1/real-name", headers=verification.auth(account, step_up=False)
    )

    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["account_id"] == account
    assert body["status"] == "unverified"
    assert body["subject"] is None and body["person"] is None
    assert body["account_status"] == "active"
    assert body["history"] == []


async def test_rn_1_an_account_verification_has_not_seen_yet_is_answered_404(
    verification: VerificationApp,
) -> None:
    reply = await verification.client.get(
        "/v1/real-name", headers=verification.auth(new_account_id(), step_up=False)
    )

    assert reply.status_code == 404
    assert reply.json()["error"]["code"] == "ACCOUNT_UNKNOWN"


async def test_real_name_needs_an_access_token(verification: VerificationApp) -> None:
    anonymous = await verification.client.get("/v1/real-name")
    forged = await verification.client.get(
        "/v1/real-name", headers={"authorization": "Bearer not.a.token"}
    )

    assert anonymous.status_code == forged.status_code == 401
    assert anonymous.json()["error"]["code"] == "UNAUTHENTICATED"


async def test_rn_1_rn_16_a_verification_is_recorded_in_the_history_and_published(
    verification: VerificationApp,
) -> None:
    account = await verification.register()

    reply = await verification.verify_person(account, random_resident_id(), name="张三丰")

    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert (body["status"], body["subject"], body["method"]) == (
        "verified",
        "personal",
        "wechat_scan",
    )
    assert body["person"]["name"] == "张**"
    (entry,) = body["history"]
    assert (entry["previous_status"], entry["status"], entry["reason"]) == (
        "unverified",
        "verified",
        "verified",
    )
    assert entry["details"]["name"] == "张**"
    changed, verified = await verification.events_of(account, 2)
    assert isinstance(changed.payload, RealNameChanged)
    assert changed.payload.status == "verified" and changed.payload.previous_status == "unverified"
    assert changed.payload.subject == "personal"
    assert isinstance(verified.payload, RealNameVerified)
    assert (verified.payload.method, verified.payload.region) == ("wechat_scan", "mainland")
    assert changed.producer == verified.producer == "verification"


async def test_rn_1_the_history_is_never_removed_only_added_to(
    verification: VerificationApp, pg: asyncpg.Connection
) -> None:
    """The database itself refuses to change or delete a history row; the API has no way
    to remove a real name."""
    account = await verification.register()
    assert (await verification.verify_person(account, random_resident_id())).status_code == 201
    database = verification.ctx.settings.database_name
    conn = await asyncpg.connect(f"{verification.scope.infra.postgres_dsn}/{database}")
    try:
        for statement in (
            "DELETE FROM real_name_history WHERE account_id = $1",
            "UPDATE real_name_history SET status = 'unverified' WHERE account_id = $1",
        ):
            with pytest.raises(asyncpg.RaiseError, match="append-only"):
                await conn.execute(statement, account)
        kept = await conn.fetchval(
            "SELECT count(*) FROM real_name_history WHERE account_id = $1", account
        )
    finally:
        await conn.close()
    removal = await verification.client.delete("/v1/real-name", headers=verification.auth(account))

    assert kept == 1
    assert removal.status_code == 405


async def test_acc_3_a_cancelled_account_is_refused(verification: VerificationApp) -> None:
    account = await verification.register()
    await verification.set_status(account, AccountStatus.CANCELLED)

    reply = await verification.verify_person(account, random_resident_id())

    assert reply.status_code == 403
    assert reply.json()["error"]["code"] == "ACCOUNT_CANCELLED"
    assert await verification.events(account) == []


async def test_acc_3_a_frozen_account_may_still_verify(verification: VerificationApp) -> None:
    """A freeze for real_name_failed is settled by verifying (README: choices)."""
    account = await verification.register()
    await verification.set_status(account, AccountStatus.FROZEN, ["real_name_failed"])

    reply = await verification.verify_person(account, random_resident_id())

    assert reply.status_code == 201, reply.text
    assert reply.json()["frozen_reasons"] == ["real_name_failed"]


async def test_acc_3_a_late_status_event_does_not_undo_a_cancellation(
    verification: VerificationApp,
) -> None:
    account = await verification.register()
    await verification.set_status(account, AccountStatus.CANCELLED)
    late = datetime(2020, 1, 1, tzinfo=UTC)
    await verification.identity_event(
        account, AccountStatusChanged(status=AccountStatus.ACTIVE, changed_at=late)
    )
    await verification.settled()

    reply = await verification.client.get("/v1/real-name", headers=verification.auth(account))

    assert reply.json()["account_status"] == "cancelled"
