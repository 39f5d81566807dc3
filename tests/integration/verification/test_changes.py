"""RN-9, RN-10 over HTTP, the real broker, PostgreSQL and Redis: which real-name changes a
verified account may make and when (30 days after the last authentication, personal to
enterprise at any time), refused kinds, and billing's standing from billing.events (newest
as_of kept; overdue, advance payments and an unknown standing refuse)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from devkit.testing.facts import billing, publish_fact
from devkit.testing.people import random_resident_id
from devkit.testing.waiting import eventually
from services.verification.adapters.tables import billing_standings, quota_claims, real_names
from tests.integration.verification.conftest import VerificationApp
from tests.integration.verification.test_enterprise import registered_enterprise, submit

pytestmark = pytest.mark.integration


def code(reply: httpx.Response) -> str:
    return str(reply.json()["error"]["code"])


async def standing(
    verification: VerificationApp, account: str, as_of: datetime, **owed: int
) -> None:
    """Billing reports the account's standing; returns once verification kept it."""
    await publish_fact(verification.scope, billing(as_of, **owed), account)

    async def kept() -> bool:
        async with verification.ctx.runtime.uow() as uow:
            found = (
                await uow.conn.execute(
                    sa.select(billing_standings.c.as_of).where(
                        billing_standings.c.account_id == account
                    )
                )
            ).scalar_one_or_none()
        return found == as_of

    await eventually(kept, what=f"billing standing of {account} at {as_of}")


async def authenticated_days_ago(verification: VerificationApp, account: str, days: int) -> None:
    """The account's last authentication was `days` ago (RN-9's clock, without waiting)."""
    async with verification.ctx.runtime.uow() as uow:
        await uow.conn.execute(
            real_names.update()
            .where(real_names.c.account_id == account)
            .values(verified_at=real_names.c.verified_at - timedelta(days=days))
        )


async def verified_person(
    verification: VerificationApp, number: str | None = None, *, days_ago: int = 31
) -> str:
    account = await verification.register()
    reply = await verification.verify_person(account, number or random_resident_id())
    assert reply.status_code == 201, reply.text
    if days_ago:
        await authenticated_days_ago(verification, account, days_ago)
    return account


async def real_name(verification: VerificationApp, account: str) -> dict[str, Any]:
    reply = await verification.client.get("/v1/real-name", headers=verification.auth(account))
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


async def test_rn_10_a_change_is_refused_while_billing_never_reported_the_account(
    verification: VerificationApp,
) -> None:
    account = await verified_person(verification)

    refused = await verification.verify_person(account, random_resident_id())

    assert refused.status_code == 409
    assert code(refused) == "BILLING_STANDING_UNKNOWN"


async def test_rn_10_overdue_and_advance_payments_refuse_a_change_until_billing_clears_them(
    verification: VerificationApp,
) -> None:
    account = await verified_person(verification)
    t0 = datetime.now(UTC) - timedelta(minutes=5)
    await standing(verification, account, t0, overdue_fen=12050)

    overdue = await verification.verify_person(account, random_resident_id())
    await standing(verification, account, t0 + timedelta(minutes=1), advance_payment_fen=300)
    advance = await verification.verify_person(account, random_resident_id())
    await standing(verification, account, t0 + timedelta(minutes=2))
    cleared = await verification.verify_person(account, random_resident_id())

    assert code(overdue) == "PAYMENTS_OVERDUE"
    assert overdue.json()["error"]["details"]["overdue_fen"] == 12050
    assert code(advance) == "ADVANCE_PAYMENTS_OUTSTANDING"
    assert advance.json()["error"]["details"]["advance_payment_fen"] == 300
    assert cleared.status_code == 201, cleared.text


async def test_rn_10_a_late_older_standing_never_replaces_a_newer_one(
    verification: VerificationApp,
) -> None:
    account = await verified_person(verification)
    t0 = datetime.now(UTC) - timedelta(minutes=5)
    await standing(verification, account, t0, overdue_fen=500)
    await publish_fact(verification.scope, billing(t0 - timedelta(minutes=1)), account)
    await verification.settled("billing.events")

    refused = await verification.verify_person(account, random_resident_id())

    assert code(refused) == "PAYMENTS_OVERDUE"


async def test_rn_10_a_standing_from_another_producer_is_not_billings_word(
    verification: VerificationApp,
) -> None:
    account = await verified_person(verification)
    await publish_fact(
        verification.scope, billing(datetime.now(UTC)), account, producer="resources"
    )
    await verification.settled("billing.events")

    refused = await verification.verify_person(account, random_resident_id())

    assert code(refused) == "BILLING_STANDING_UNKNOWN"


async def test_rn_9_a_person_changes_to_another_person_only_30_days_after_the_last_authentication(
    verification: VerificationApp,
) -> None:
    old_number = random_resident_id()
    account = await verified_person(verification, old_number, days_ago=29)
    await standing(verification, account, datetime.now(UTC))

    too_soon = await verification.verify_person(account, random_resident_id())
    await authenticated_days_ago(verification, account, 2)
    changed = await verification.verify_person(account, random_resident_id(), name="李四")
    again = await verification.verify_person(account, random_resident_id())

    assert too_soon.status_code == 409 and code(too_soon) == "CHANGE_TOO_SOON"
    allowed_from = datetime.fromisoformat(too_soon.json()["error"]["details"]["allowed_from"])
    assert timedelta(hours=23) < allowed_from - datetime.now(UTC) < timedelta(days=1, hours=1)
    assert changed.status_code == 201, changed.text
    assert code(again) == "CHANGE_TOO_SOON", "the change is the new last authentication"
    view = await real_name(verification, account)
    assert view["status"] == "verified" and view["subject"] == "personal"
    assert view["history"][0]["reason"] == "changed"
    events = await verification.events_of(account, 4)
    assert [e.type for e in events][-2:] == ["RealNameChanged", "RealNameVerified"]
    # The old person no longer counts for this account (RN-3's 3 accounts are free again).
    async with verification.ctx.runtime.uow() as uow:
        live = (
            await uow.conn.execute(
                sa.select(sa.func.count()).where(
                    quota_claims.c.account_id == account, quota_claims.c.state != "released"
                )
            )
        ).scalar_one()
    assert live == 1
    for _ in range(3):
        other = await verification.register()
        assert (await verification.verify_person(other, old_number)).status_code == 201


async def test_rn_9_a_mainland_person_never_changes_to_an_overseas_one(
    verification: VerificationApp,
) -> None:
    account = await verified_person(verification)
    await standing(verification, account, datetime.now(UTC))

    refused = await verification.verify_person(account, "H12345678", region="hong_kong")

    assert refused.status_code == 403
    assert code(refused) == "MAINLAND_TO_OVERSEAS_REFUSED"


async def test_rn_9_a_person_changes_to_an_enterprise_at_any_time_by_an_instant_method(
    verification: VerificationApp,
) -> None:
    account = await verified_person(verification, days_ago=0)
    await standing(verification, account, datetime.now(UTC))
    uscc, name = await registered_enterprise(verification)

    by_recharge = await submit(verification, account, uscc, name, "recharge")
    changed = await submit(verification, account, uscc, name, "wechat_official_platform")

    assert code(by_recharge) == "CHANGE_METHOD_NOT_INSTANT"
    assert changed.status_code == 201, changed.text
    view = await real_name(verification, account)
    assert view["status"] == "verified" and view["subject"] == "enterprise"


async def test_rn_9_rn_10_even_personal_to_enterprise_waits_for_billing(
    verification: VerificationApp,
) -> None:
    account = await verified_person(verification, days_ago=0)
    uscc, name = await registered_enterprise(verification)

    refused = await submit(verification, account, uscc, name, "wechat_official_platform")

    assert code(refused) == "BILLING_STANDING_UNKNOWN"


async def test_rn_9_an_enterprise_never_changes_to_a_person(
    verification: VerificationApp,
) -> None:
    account = await verification.register()
    uscc, name = await registered_enterprise(verification)
    assert (await submit(verification, account, uscc, name, "legal_person_face")).status_code == 201
    await authenticated_days_ago(verification, account, 31)
    await standing(verification, account, datetime.now(UTC))

    refused = await verification.verify_person(account, random_resident_id())

    assert refused.status_code == 403
    assert code(refused) == "ENTERPRISE_TO_PERSONAL_REFUSED"


async def test_rn_9_parallel_changes_of_one_account_change_it_once(
    verification: VerificationApp,
) -> None:
    account = await verified_person(verification)
    await standing(verification, account, datetime.now(UTC))
    numbers = [random_resident_id() for _ in range(5)]

    replies = await asyncio.gather(*(verification.verify_person(account, n) for n in numbers))

    assert sorted(r.status_code for r in replies) == [201] + [409] * 4, [r.text for r in replies]
    assert {code(r) for r in replies if r.status_code == 409} <= {
        "VERIFICATION_IN_PROGRESS",
        "CHANGE_TOO_SOON",
    }
    async with verification.ctx.runtime.uow() as uow:
        states: list[str] = list(
            (
                await uow.conn.execute(
                    sa.select(quota_claims.c.state).where(quota_claims.c.account_id == account)
                )
            ).scalars()
        )
    counted = sorted(s for s in states if s != "released")
    assert counted == ["held"], "one person counts for the account, the new one"
