"""RN-11 over HTTP, the real broker, PostgreSQL and Redis: enterprise changes (entity, name,
legal person) under operator review: submitted with a step-up, listed for operators,
approved (the new data at once, RealNameChanged and RealNameVerified, the quota place moved
for an entity change) or rejected (the old data stays), withdrawn by the applicant, audited,
and escalated by their timer when the review period ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from devkit.testing.infra import Infra
from devkit.testing.people import random_resident_id
from devkit.testing.waiting import eventually
from services.verification.adapters.tables import operator_actions, quota_claims, timers
from tests.integration.verification.conftest import VerificationApp, verification_app
from tests.integration.verification.test_changes import authenticated_days_ago, standing
from tests.integration.verification.test_enterprise import registered_enterprise, submit

pytestmark = pytest.mark.integration

OPERATOR_TOKEN = "operator-token-for-tests-only-0123456789"
OPERATOR = {"authorization": f"Bearer {OPERATOR_TOKEN}", "x-operator-id": "op-11"}


@pytest.fixture(scope="module")
async def reviewing(infra: Infra) -> AsyncIterator[VerificationApp]:
    async with verification_app(infra.scope(), operator_token=OPERATOR_TOKEN) as app:
        yield app


def code(reply: httpx.Response) -> str:
    return str(reply.json()["error"]["code"])


async def enterprise_account(app: VerificationApp) -> tuple[str, str, str]:
    """An account verified as an enterprise 31 days ago, billing clear."""
    account = await app.register()
    uscc, name = await registered_enterprise(app)
    assert (await submit(app, account, uscc, name, "legal_person_face")).status_code == 201
    await authenticated_days_ago(app, account, 31)
    await standing(app, account, datetime.now(UTC))
    return account, uscc, name


async def propose(
    app: VerificationApp, account: str, kind: str, uscc: str, name: str, **extra: Any
) -> httpx.Response:
    body = {"kind": kind, "uscc": uscc, "name": name, "legal_person_name": "王五", **extra}
    return await app.client.post("/v1/real-name/changes", json=body, headers=app.auth(account))


async def real_name(app: VerificationApp, account: str) -> dict[str, Any]:
    reply = await app.client.get("/v1/real-name", headers=app.auth(account))
    body: dict[str, Any] = reply.json()
    return body


async def queue(app: VerificationApp) -> list[dict[str, Any]]:
    reply = await app.client.get("/v1/operator/changes", headers=OPERATOR)
    assert reply.status_code == 200, reply.text
    found: list[dict[str, Any]] = reply.json()["changes"]
    return found


async def audit(app: VerificationApp, change_id: int) -> list[Any]:
    async with app.ctx.runtime.uow() as uow:
        rows = await uow.conn.execute(
            sa.select(operator_actions).where(operator_actions.c.subject == f"change:{change_id}")
        )
        return list(rows)


async def test_rn_11_a_name_change_waits_for_review_and_applies_at_once_on_approval(
    reviewing: VerificationApp,
) -> None:
    account, uscc, old_name = await enterprise_account(reviewing)
    new_name = "北京新名字科技有限公司"
    await reviewing.client.put(
        "/v1/dev/registry", json={"uscc": uscc, "name": new_name, "deregistered": False}
    )

    proposed = await propose(reviewing, account, "name", uscc, new_name)
    under_review = await real_name(reviewing, account)
    listed = await queue(reviewing)
    change_id = proposed.json()["id"]
    approved = await reviewing.client.post(
        f"/v1/operator/changes/{change_id}/approve", json={}, headers=OPERATOR
    )
    after = await real_name(reviewing, account)

    assert proposed.status_code == 201, proposed.text
    assert proposed.json()["state"] == "under_review"
    assert proposed.json()["previous"]["name"] == old_name
    assert under_review["enterprise"]["name"] == old_name, "nothing applies before approval"
    assert under_review["change_under_review"]["id"] == change_id
    assert change_id in [c["id"] for c in listed]
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "approved"
    assert after["enterprise"]["name"] == new_name and after["enterprise"]["uscc"] == uscc
    assert after["status"] == "verified" and after["history"][0]["reason"] == "changed"
    assert after["change_under_review"] is None
    assert after["history"][0]["details"]["change"] == "name"
    events = await reviewing.events_of(account, 5)
    _, verified, decided = events[-3:]
    assert [e.type for e in events[-3:]] == [
        "RealNameChanged",
        "RealNameVerified",
        "RealNameChangeDecided",
    ]
    # The approval's proof names the change: the owner hears of it once (the decision).
    assert verified.payload.change_id == change_id
    assert [e.payload.change_id for e in events[:2] if e.type == "RealNameVerified"] == [None]
    assert (decided.payload.change_id, decided.payload.kind.value) == (change_id, "name")
    assert decided.payload.approved is True and decided.payload.reason is None
    assert [(a.action, a.operator_id) for a in await audit(reviewing, change_id)] == [
        ("change_approved", "op-11")
    ]
    again = await reviewing.client.post(
        f"/v1/operator/changes/{change_id}/reject", json={"reason": "late"}, headers=OPERATOR
    )
    assert code(again) == "CHANGE_NOT_UNDER_REVIEW"


async def test_rn_11_an_entity_change_moves_the_quota_place_to_the_new_enterprise(
    reviewing: VerificationApp,
) -> None:
    account, _, _ = await enterprise_account(reviewing)
    new_uscc, new_name = await registered_enterprise(reviewing, "上海实体乙有限公司")

    proposed = await propose(
        reviewing, account, "entity", new_uscc, new_name, legal_person_document=random_resident_id()
    )
    approved = await reviewing.client.post(
        f"/v1/operator/changes/{proposed.json()['id']}/approve",
        json={"reason": "licence checked"},
        headers=OPERATOR,
    )

    assert proposed.status_code == 201, proposed.text
    assert proposed.json()["legal_person_document"].count("*") > 10, "masked (RN-17)"
    assert approved.status_code == 200, approved.text
    enterprise = (await real_name(reviewing, account))["enterprise"]
    assert (enterprise["uscc"], enterprise["name"]) == (new_uscc, new_name)
    assert enterprise["legal_person"] == "王*"
    async with reviewing.ctx.runtime.uow() as uow:
        held = (
            await uow.conn.execute(
                sa.select(sa.func.count()).where(
                    quota_claims.c.account_id == account,
                    quota_claims.c.kind == "enterprise",
                    quota_claims.c.state == "held",
                )
            )
        ).scalar_one()
    assert held == 1


async def test_rn_11_a_rejected_change_keeps_the_old_data_and_is_audited(
    reviewing: VerificationApp,
) -> None:
    account, uscc, name = await enterprise_account(reviewing)

    proposed = await propose(reviewing, account, "legal_person", uscc, name)
    no_reason = await reviewing.client.post(
        f"/v1/operator/changes/{proposed.json()['id']}/reject", json={}, headers=OPERATOR
    )
    rejected = await reviewing.client.post(
        f"/v1/operator/changes/{proposed.json()['id']}/reject",
        json={"reason": "the licence shows another legal person"},
        headers=OPERATOR,
    )

    assert proposed.status_code == 201, proposed.text
    assert no_reason.status_code == 422
    assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"
    assert (await real_name(reviewing, account))["enterprise"]["legal_person"] == "张*"
    assert [a.reason for a in await audit(reviewing, proposed.json()["id"])] == [
        "the licence shows another legal person"
    ]
    # The decision is published (the applicant's notice), nothing else: the real name stays.
    events = await reviewing.events_of(account, 3)
    assert [e.type for e in events] == [
        "RealNameChanged",
        "RealNameVerified",
        "RealNameChangeDecided",
    ]
    decided = events[-1].payload
    assert (decided.change_id, decided.kind.value, decided.approved) == (
        proposed.json()["id"],
        "legal_person",
        False,
    )
    assert decided.reason == "the licence shows another legal person"


async def test_rn_11_the_applicant_withdraws_while_under_review_and_may_submit_again(
    reviewing: VerificationApp,
) -> None:
    account, uscc, name = await enterprise_account(reviewing)
    first = await propose(reviewing, account, "legal_person", uscc, name)

    second = await propose(reviewing, account, "legal_person", uscc, name)
    withdrawn = await reviewing.client.delete(
        "/v1/real-name/changes/current", headers=reviewing.auth(account)
    )
    approve_late = await reviewing.client.post(
        f"/v1/operator/changes/{first.json()['id']}/approve", json={}, headers=OPERATOR
    )
    nothing_left = await reviewing.client.delete(
        "/v1/real-name/changes/current", headers=reviewing.auth(account)
    )
    third = await propose(reviewing, account, "legal_person", uscc, name)
    mine = await reviewing.client.get("/v1/real-name/changes", headers=reviewing.auth(account))

    assert code(second) == "CHANGE_UNDER_REVIEW"
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "withdrawn"
    assert code(approve_late) == "CHANGE_NOT_UNDER_REVIEW"
    assert code(nothing_left) == "CHANGE_REQUEST_UNKNOWN"
    assert third.status_code == 201
    assert [c["state"] for c in mine.json()["changes"]] == ["under_review", "withdrawn"]
    assert (await real_name(reviewing, account))["enterprise"]["legal_person"] == "张*"


async def test_rn_11_submitting_a_change_needs_a_step_up_and_the_right_kind(
    reviewing: VerificationApp,
) -> None:
    account, uscc, name = await enterprise_account(reviewing)
    other_uscc, other_name = await registered_enterprise(reviewing, "广州别的有限公司")
    person = await reviewing.register()
    assert (await reviewing.verify_person(person, random_resident_id())).status_code == 201

    no_step_up = await reviewing.client.post(
        "/v1/real-name/changes",
        json={"kind": "name", "uscc": uscc, "name": name, "legal_person_name": "王五"},
        headers=reviewing.auth(account, step_up=False),
    )
    same_code = await propose(reviewing, account, "entity", uscc, name)
    renamed_code = await propose(reviewing, account, "name", other_uscc, other_name)
    not_enterprise = await propose(reviewing, person, "name", uscc, name)

    assert no_step_up.status_code == 403 and code(no_step_up) == "STEP_UP_REQUIRED"
    assert code(same_code) == "CHANGE_KIND_MISMATCH"
    assert code(renamed_code) == "CHANGE_KIND_MISMATCH"
    assert code(not_enterprise) == "NOT_VERIFIED_AS_ENTERPRISE"


async def test_rn_9_rn_10_rn_11_an_enterprise_change_waits_30_days_and_for_billing(
    reviewing: VerificationApp,
) -> None:
    account = await reviewing.register()
    uscc, name = await registered_enterprise(reviewing)
    assert (await submit(reviewing, account, uscc, name, "legal_person_face")).status_code == 201

    too_soon = await propose(reviewing, account, "legal_person", uscc, name)
    await authenticated_days_ago(reviewing, account, 31)
    unknown_billing = await propose(reviewing, account, "legal_person", uscc, name)

    assert code(too_soon) == "CHANGE_TOO_SOON"
    assert code(unknown_billing) == "BILLING_STANDING_UNKNOWN"


async def test_rn_11_a_change_still_under_review_when_its_period_ends_is_escalated(
    reviewing: VerificationApp,
) -> None:
    account, uscc, name = await enterprise_account(reviewing)
    proposed = await propose(reviewing, account, "legal_person", uscc, name)
    change_id = proposed.json()["id"]
    due = datetime.fromisoformat(proposed.json()["review_due_at"])
    assert due > datetime.now(UTC)
    async with reviewing.ctx.runtime.uow() as uow:  # the 3 working days went by
        await uow.conn.execute(
            timers.update()
            .where(timers.c.kind == "change_review", timers.c.ref == str(change_id))
            .values(due_at=datetime.now(UTC))
        )

    async def overdue() -> bool:
        return any(c["id"] == change_id and c["overdue"] for c in await queue(reviewing))

    await eventually(overdue, what="the change escalated")
    mine = await reviewing.client.get("/v1/real-name/changes", headers=reviewing.auth(account))
    assert mine.json()["changes"][0]["state"] == "under_review", "the clock decides nothing"


async def test_rn_11_two_operators_deciding_one_change_at_once_decide_it_once(
    reviewing: VerificationApp,
) -> None:
    account, uscc, name = await enterprise_account(reviewing)
    proposed = await propose(reviewing, account, "legal_person", uscc, name)
    path = f"/v1/operator/changes/{proposed.json()['id']}"

    replies = await asyncio.gather(
        reviewing.client.post(f"{path}/approve", json={}, headers=OPERATOR),
        reviewing.client.post(f"{path}/reject", json={"reason": "no"}, headers=OPERATOR),
        reviewing.client.post(f"{path}/approve", json={}, headers=OPERATOR),
    )

    assert sorted(r.status_code for r in replies) == [200, 409, 409], [r.text for r in replies]
    assert len(await audit(reviewing, proposed.json()["id"])) == 1
    changed = [
        h for h in (await real_name(reviewing, account))["history"] if h["reason"] == "changed"
    ]
    approved = any(r.status_code == 200 and r.json()["state"] == "approved" for r in replies)
    assert len(changed) == (1 if approved else 0)
