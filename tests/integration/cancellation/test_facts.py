"""EXT and CAN-2 over HTTP, the real broker, PostgreSQL and Redis: the facts of billing,
resources, CAM and complaints are projected (newest as_of per account and producer, a late
one ignored, a fact from another producer not believed); a fact never reported is unknown
and refuses with its own reason; every failed precondition is listed at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devkit.testing.facts import billing, clear_standings, produce, publish_fact
from devkit.testing.kafka import group_lag
from devkit.testing.waiting import eventually
from services.cancellation.adapters.repository import SubAccounts
from services.cancellation.adapters.tables import standings
from shared.events import (
    CamStanding,
    CaseKind,
    ComplaintsStanding,
    OpenCase,
    ResourcesStanding,
    SubAccountAssociated,
)
from tests.integration.cancellation.conftest import CancellationApp, new_account_id, reasons

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
UNKNOWN = ["BILLING_UNKNOWN", "RESOURCES_UNKNOWN", "CAM_UNKNOWN", "COMPLAINTS_UNKNOWN"]


async def test_ext_an_account_no_producer_reported_is_refused_with_each_unknown(
    cancellation: CancellationApp,
) -> None:
    account = await cancellation.register()

    reply = await cancellation.apply(account)

    assert reply.status_code == 409
    assert reasons(reply) == UNKNOWN
    found = reply.json()["error"]["details"]["reasons"]
    assert [r["details"]["system"] for r in found] == ["billing", "resources", "cam", "complaints"]
    assert await cancellation.events(account) == []


async def test_ext_one_unknown_producer_still_refuses_when_the_others_are_clear(
    cancellation: CancellationApp,
) -> None:
    account = await cancellation.register()
    await cancellation.report(
        account,
        billing(NOW),
        ResourcesStanding(as_of=NOW, resources_in_use=0, products=[]),
        ComplaintsStanding(as_of=NOW, open_cases=[]),
    )

    reply = await cancellation.apply(account)

    assert reasons(reply) == ["CAM_UNKNOWN"]


async def test_can_2_every_failed_precondition_is_listed_at_once_with_its_own_code(
    cancellation: CancellationApp,
) -> None:
    account = await cancellation.register()
    await cancellation.report(
        account,
        billing(
            NOW,
            pending_orders=1,
            overdue_fen=12050,
            advance_payment_fen=300,
            balance_fen=3700,
            vouchers=2,
        ),
        ResourcesStanding(as_of=NOW, resources_in_use=3, products=["cvm", "cos"]),
        CamStanding(as_of=NOW, collaborators=1, sub_users=2, message_recipients=1),
        ComplaintsStanding(
            as_of=NOW,
            open_cases=[
                OpenCase(case_id="C-1", kind=CaseKind.COMPLAINT, opened_at=NOW),
                OpenCase(case_id="R-1", kind=CaseKind.REPORT, opened_at=NOW),
            ],
        ),
    )

    reply = await cancellation.apply(account)
    check = await cancellation.client.get(
        "/v1/cancellation/preconditions", headers=cancellation.auth(account, False)
    )

    assert reply.status_code == 409
    assert reasons(reply) == [
        "PENDING_ORDERS",
        "ARREARS",
        "ADVANCE_PAYMENTS",
        "CASH_BALANCE",
        "VOUCHERS",
        "RESOURCES_IN_USE",
        "COLLABORATORS",
        "SUB_USERS",
        "MESSAGE_RECIPIENTS",
        "OPEN_COMPLAINTS",
        "OPEN_REPORTS",
    ]
    by_code = {r["code"]: r["details"] for r in reply.json()["error"]["details"]["reasons"]}
    assert by_code["ARREARS"]["overdue_fen"] == 12050
    assert by_code["RESOURCES_IN_USE"]["products"] == ["cvm", "cos"]
    assert by_code["OPEN_REPORTS"]["case_ids"] == ["R-1"]
    assert check.status_code == 200
    assert check.json()["may_apply"] is False
    assert [r["code"] for r in check.json()["reasons"]] == reasons(reply)


async def test_ext_the_newest_standing_is_kept_and_a_late_older_one_ignored(
    cancellation: CancellationApp,
) -> None:
    account = await cancellation.clear_account()
    # After the clear standings of clear_account (as of its call): the module's NOW may be
    # minutes older in a long run, and older standings are rightly ignored.
    now = datetime.now(UTC)
    await cancellation.report(account, billing(now + timedelta(minutes=1), overdue_fen=500))
    # a standing read before the newest one arrives late: it changes nothing
    late = billing(now + timedelta(seconds=30))
    await publish_fact(cancellation.scope, late, account)
    await settled(cancellation, "billing.events")

    assert reasons(await cancellation.apply(account)) == ["ARREARS"]

    await cancellation.report(account, billing(now + timedelta(minutes=2)))
    assert (await cancellation.apply(account)).status_code == 201


async def test_ext_a_standing_from_another_producer_is_not_believed(
    cancellation: CancellationApp,
) -> None:
    account = await cancellation.register()
    await publish_fact(cancellation.scope, billing(NOW), account, producer="cam")
    await settled(cancellation, "billing.events")

    reply = await cancellation.apply(account)

    assert "BILLING_UNKNOWN" in reasons(reply)


async def test_can_1_a_sub_account_per_cam_is_refused_as_not_root(
    cancellation: CancellationApp,
) -> None:
    root = await cancellation.register()
    account = await cancellation.clear_account()
    await publish_fact(
        cancellation.scope,
        SubAccountAssociated(root_account_id=root, associated_at=NOW),
        account,
    )

    async def linked() -> bool:
        async with cancellation.runtime.uow() as uow:
            return await SubAccounts(uow.conn).root_of(account) == root

    await eventually(linked, what="sub-account projected")

    assert reasons(await cancellation.apply(account)) == ["NOT_ROOT_ACCOUNT"]
    reply = await cancellation.apply(account)
    assert reply.json()["error"]["details"]["reasons"][0]["details"] == {"root_account_id": root}
    assert "NOT_ROOT_ACCOUNT" not in reasons(await cancellation.apply(root))


async def settled(cancellation: CancellationApp, topic: str) -> None:
    """Every event published so far on the topic has been consumed (committed)."""
    group = f"{cancellation.runtime.settings.consumer_group}.{topic}"
    name = cancellation.scope.topic(topic)

    async def no_lag() -> bool:
        return await group_lag(cancellation.kafka, group, name) == 0

    await eventually(no_lag, what=f"{topic} consumed")


async def test_can_2_a_balance_published_with_account_center_produce_refuses_until_spent(
    cancellation: CancellationApp,
) -> None:
    """The producing teams' path: the real command, validated against the contract."""
    account = await cancellation.clear_account()
    fields = ["--overdue-fen", "0", "--advance-payment-fen", "0", "--vouchers", "0"]
    fields += ["--pending-orders", "0", "--account-id", account]

    held = await produce(cancellation.scope, "BillingStanding", *fields, "--balance-fen", "3700")
    assert held.code == 0, held.err

    async def balance_kept() -> list[str] | None:
        reply = await cancellation.client.get(
            "/v1/cancellation/preconditions", headers=cancellation.auth(account, False)
        )
        found = [r["code"] for r in reply.json()["reasons"]]
        return found or None

    assert await eventually(balance_kept, what="the balance projected") == ["CASH_BALANCE"]
    spent = await produce(cancellation.scope, "BillingStanding", *fields, "--balance-fen", "0")
    assert spent.code == 0, spent.err

    async def clear() -> bool:
        return (await cancellation.apply(account)).status_code == 201

    await eventually(clear, what="the spent balance projected")


async def test_ext_a_kept_standing_the_contract_no_longer_reads_is_unknown_not_a_500(
    cancellation: CancellationApp,
) -> None:
    account = await cancellation.clear_account()
    async with cancellation.runtime.uow() as uow:
        await uow.conn.execute(
            standings.update()
            .where(standings.c.account_id == account, standings.c.producer == "billing")
            .values(payload={"as_of": NOW.isoformat(), "owed": 1})
        )

    reply = await cancellation.apply(account)

    assert reply.status_code == 409
    assert reasons(reply) == ["BILLING_UNKNOWN"]


async def test_ext_facts_reported_before_the_registration_arrives_are_kept(
    cancellation: CancellationApp,
) -> None:
    account = new_account_id()
    await cancellation.report(account, *clear_standings(NOW))

    await cancellation.register(account)

    assert (await cancellation.apply(account)).status_code == 201
