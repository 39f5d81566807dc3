"""Operators over HTTP, the real broker and PostgreSQL: applications listed by state (newest
first, in bounded pages), one application with its reasons and erasure record, a rejection
during cooling-off with a reason (CAN-6: CancellationRejected with OPERATOR_REJECTED and the
operator's reason, audited in operator_actions; concurrent rejections: one wins), and the
operator credential required on every call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa

from devkit.testing.infra import Infra
from services.cancellation.adapters.tables import operator_actions
from shared.events import CancellationRejected
from tests.integration.cancellation.conftest import (
    OPERATOR,
    OPERATOR_TOKEN,
    CancellationApp,
    cancellation_app,
    code,
    shown,
)

pytestmark = pytest.mark.integration

BASE = "/v1/operator/cancellations"


@pytest.fixture(scope="module")
async def operated(infra: Infra) -> AsyncIterator[CancellationApp]:
    """A cancellation service of its own (the list sees only this module's applications),
    15 days of cooling-off, operator access configured."""
    async with cancellation_app(infra.scope(), operator_token=OPERATOR_TOKEN) as app:
        yield app


async def applied(app: CancellationApp) -> tuple[str, str]:
    account = await app.clear_account()
    reply = await app.apply(account)
    assert reply.status_code == 201, reply.text
    return account, reply.json()["application_id"]


async def listed(app: CancellationApp, **query: Any) -> dict[str, Any]:
    reply = await app.client.get(BASE, params=query, headers=OPERATOR)
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


async def test_operators_list_applications_by_state_newest_first_in_pages(
    operated: CancellationApp,
) -> None:
    first = await applied(operated)
    second = await applied(operated)
    third = await applied(operated)
    withdrawn = await operated.client.delete(
        "/v1/cancellation", headers=operated.auth(second[0], False)
    )
    assert withdrawn.status_code == 200

    cooling = await listed(operated, state="cooling_off", limit=200)
    ids = [a["application_id"] for a in cooling["applications"]]
    assert ids.index(third[1]) < ids.index(first[1]) and second[1] not in ids
    assert all(a["state"] == "cooling_off" for a in cooling["applications"])
    assert cooling["next_after"] is None

    page_1 = await listed(operated, state="cooling_off", limit=1)
    page_2 = await listed(operated, state="cooling_off", limit=1, after=page_1["next_after"])
    assert [a["application_id"] for a in page_1["applications"]] == ids[:1]
    assert [a["application_id"] for a in page_2["applications"]] == ids[1:2]
    assert [
        a["application_id"] for a in (await listed(operated, state="withdrawn"))["applications"]
    ] == [second[1]]
    everything = [a["application_id"] for a in (await listed(operated, limit=200))["applications"]]
    assert {first[1], second[1], third[1]} <= set(everything)

    for bad in ({"state": "open"}, {"limit": 0}, {"limit": 201}, {"after": "x" * 65}):
        reply = await operated.client.get(BASE, params=bad, headers=OPERATOR)
        assert reply.status_code == 422, bad
    for _, application_id in (first, third):
        await operated.client.post(
            f"{BASE}/{application_id}/reject", json={"reason": "cleanup"}, headers=OPERATOR
        )


async def test_can_6_an_operator_rejects_during_cooling_off_with_a_reason_audited(
    operated: CancellationApp,
) -> None:
    """CAN-6 by an operator: the applicant sees OPERATOR_REJECTED and the reason;
    CancellationRejected carries both; operator_actions keeps who, what and why; a second
    rejection of the ended application is 409 NOT_COOLING_OFF."""
    account, application_id = await applied(operated)
    detail = await operated.client.get(f"{BASE}/{application_id}", headers=OPERATOR)
    assert detail.status_code == 200, detail.text
    assert detail.json()["state"] == "cooling_off"
    assert detail.json()["erasure"] == {
        "identity": None,
        "verification": None,
        "notifier": None,
        "cancellation": None,
    }
    assert detail.json()["erasure_complete"] is False

    reason = "Fraud investigation open on this account; contact support."
    reply = await operated.client.post(
        f"{BASE}/{application_id}/reject", json={"reason": reason}, headers=OPERATOR
    )

    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["state"], body["reasons"], body["operator_reason"]) == (
        "rejected",
        ["OPERATOR_REJECTED"],
        reason,
    )
    mine = await shown(operated, account)
    assert (mine["state"], mine["reasons"], mine["operator_reason"]) == (
        "rejected",
        ["OPERATOR_REJECTED"],
        reason,
    )
    _, rejected = await operated.events_of(account, 2)
    assert isinstance(rejected.payload, CancellationRejected)
    assert rejected.payload.reasons == ["OPERATOR_REJECTED"]
    assert rejected.payload.operator_reason == reason
    async with operated.runtime.uow() as uow:
        audit = (
            await uow.conn.execute(
                sa.select(
                    operator_actions.c.operator_id,
                    operator_actions.c.action,
                    operator_actions.c.account_id,
                    operator_actions.c.reason,
                ).where(operator_actions.c.subject == application_id)
            )
        ).all()
    assert [tuple(a) for a in audit] == [("op-11", "reject_application", account, reason)]

    again = await operated.client.post(
        f"{BASE}/{application_id}/reject", json={"reason": "again"}, headers=OPERATOR
    )
    assert (again.status_code, code(again)) == (409, "NOT_COOLING_OFF")
    shown_again = await operated.client.get(f"{BASE}/{application_id}", headers=OPERATOR)
    assert shown_again.json()["operator_reason"] == reason


async def test_can_6_concurrent_operator_rejections_one_wins(operated: CancellationApp) -> None:
    account, application_id = await applied(operated)

    replies = await asyncio.gather(
        *(
            operated.client.post(
                f"{BASE}/{application_id}/reject",
                json={"reason": f"operator {n}"},
                headers={**OPERATOR, "x-operator-id": f"op-{n}"},
            )
            for n in range(8)
        )
    )

    statuses = sorted(r.status_code for r in replies)
    assert statuses == [200] + [409] * 7
    (winner,) = [r for r in replies if r.status_code == 200]
    events = await operated.events_of(account, 2)
    rejections = [e for e in events if isinstance(e.payload, CancellationRejected)]
    assert len(rejections) == 1
    assert rejections[0].payload.operator_reason == winner.json()["operator_reason"]
    async with operated.runtime.uow() as uow:
        audited = (
            await uow.conn.execute(
                sa.select(sa.func.count()).where(operator_actions.c.subject == application_id)
            )
        ).scalar_one()
    assert audited == 1


async def test_operators_refusals_credential_bad_reason_unknown_application(
    operated: CancellationApp,
) -> None:
    account, application_id = await applied(operated)
    reject = f"{BASE}/{application_id}/reject"

    anonymous = await operated.client.get(BASE)
    wrong = await operated.client.get(
        BASE, headers={"authorization": "Bearer wrong", "x-operator-id": "op-11"}
    )
    applicant = await operated.client.post(
        reject, json={"reason": "mine"}, headers=operated.auth(account)
    )
    assert {anonymous.status_code, wrong.status_code, applicant.status_code} == {401}

    for body in ({}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 501}, {"reason": 5}):
        reply = await operated.client.post(reject, json=body, headers=OPERATOR)
        assert reply.status_code == 422, (body, reply.text)
    nul = await operated.client.post(reject, json={"reason": "a\u0000b"}, headers=OPERATOR)
    assert (nul.status_code, code(nul)) == (422, "TEXT_INVALID")

    unknown = await operated.client.get(
        f"{BASE}/00000000-0000-0000-0000-000000000000", headers=OPERATOR
    )
    assert (unknown.status_code, code(unknown)) == (404, "APPLICATION_NOT_FOUND")
    bad_id = await operated.client.get(f"{BASE}/{'a' * 65}", headers=OPERATOR)
    assert bad_id.status_code == 422
    assert (await shown(operated, account))["state"] == "cooling_off"

    longest = await operated.client.post(reject, json={"reason": "x" * 500}, headers=OPERATOR)
    assert longest.status_code == 200, longest.text


async def test_operators_without_a_configured_token_get_503(
    cancellation: CancellationApp,
) -> None:
    reply = await cancellation.client.get(BASE, headers=OPERATOR)
    assert (reply.status_code, code(reply)) == (503, "OPERATOR_ACCESS_NOT_CONFIGURED")
