"""CAN-7 in verification, on the real broker, PostgreSQL and Redis: a completed cancellation
erases the account's real-name data (sealed and masked, enterprise, bank account), releases
its quota places so the identity or enterprise verifies another account (RN-3, RN-7), keeps
the RN-16 transitions without personal details, and confirms once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa

from devkit.testing.enterprises import random_bank_account
from devkit.testing.infra import Infra
from devkit.testing.kafka import publish, read_all
from devkit.testing.people import random_resident_id
from devkit.testing.waiting import eventually
from services.verification.adapters.tables import (
    change_requests,
    enterprise_attempts,
    operator_actions,
    real_name_history,
    timers,
)
from services.verification.domain.erasure import KEPT
from shared.events import (
    CancellationCompleted,
    Envelope,
    Topic,
    VerificationDataErased,
    new_envelope,
)
from tests.integration.verification.conftest import (
    VerificationApp,
    new_account_id,
    verification_app,
)
from tests.integration.verification.test_change_requests import OPERATOR, OPERATOR_TOKEN, propose
from tests.integration.verification.test_changes import authenticated_days_ago, standing
from tests.integration.verification.test_enterprise import (
    registered_enterprise,
    remittance,
    submit,
)
from tests.integration.verification.test_sensitive_data import dump, forms

pytestmark = pytest.mark.integration

ONE_EACH = {"identity_max_accounts": 1, "enterprise_max_accounts": 1}


def found(text: str, values: list[str]) -> list[str]:
    every = set().union(*(forms(v) if v[:1].isdigit() else {v} for v in values))
    return sorted(form for form in every if form in text)


async def complete(verification: VerificationApp, account_id: str) -> Envelope[Any]:
    """CancellationCompleted as the cancellation service publishes it."""
    envelope = new_envelope(
        CancellationCompleted(application_id=f"app-{account_id}", completed_at=datetime.now(UTC)),
        producer="cancellation",
        account_id=account_id,
    )
    await publish(verification.kafka, verification.scope.topic(Topic.CANCELLATION_EVENTS), envelope)
    return envelope


async def confirmations(verification: VerificationApp, account_id: str) -> list[Any]:
    return [
        e.payload
        for e in await verification.events(account_id)
        if isinstance(e.payload, VerificationDataErased)
    ]


async def history_of(verification: VerificationApp, account_id: str) -> list[Any]:
    async with verification.ctx.runtime.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(real_name_history)
            .where(real_name_history.c.account_id == account_id)
            .order_by(real_name_history.c.id)
        )
        return list(rows)


@pytest.mark.verification_settings(**ONE_EACH)
async def test_can_7_rn_3_erasure_releases_the_id_number_and_keeps_transitions_confirmed_once(
    verification: VerificationApp,
) -> None:
    """CAN-7: the person's sealed and masked data leave every table; the transitions stay
    without name or document; the projection is `cancelled`; VerificationDataErased is
    emitted once under redelivery. RN-3: the released ID number verifies another account."""
    number, name = random_resident_id(), "欧阳娜娜"
    leaving, waiting = await verification.register(), await verification.register()
    assert (await verification.verify_person(leaving, number, name=name)).status_code == 201
    full = await verification.verify_person(waiting, number, name=name)
    assert full.json()["error"]["code"] == "IDENTITY_QUOTA_EXCEEDED"
    before = await history_of(verification, leaving)
    assert found(await dump(verification), [name[0] + "*"]), "the masked name is there before"

    completed = await complete(verification, leaving)
    await eventually(lambda: confirmations(verification, leaving), what="VerificationDataErased")
    await publish(
        verification.kafka, verification.scope.topic(Topic.CANCELLATION_EVENTS), completed
    )
    await verification.settled(Topic.CANCELLATION_EVENTS)

    (confirmed,) = await confirmations(verification, leaving)
    assert (confirmed.service, confirmed.application_id) == ("verification", f"app-{leaving}")
    assert confirmed.kept == KEPT
    assert found(await dump(verification), [number, name[0] + "*"]) == []
    after = await history_of(verification, leaving)
    assert [(h.previous_status, h.status, h.reason) for h in after] == [
        (h.previous_status, h.status, h.reason) for h in before
    ]
    assert all(not {"name", "document"} & h.details.keys() for h in after)
    body = (
        await verification.client.get("/v1/real-name", headers=verification.auth(leaving))
    ).json()
    assert body["account_status"] == "cancelled"
    again = await verification.verify_person(leaving, number, name=name)
    assert again.json()["error"]["code"] == "ACCOUNT_CANCELLED"

    released = await verification.verify_person(waiting, number, name=name)
    assert released.status_code == 201, released.text


@pytest.mark.verification_settings(**ONE_EACH)
async def test_can_7_rn_7_enterprise_bank_account_and_legal_person_are_erased_and_released(
    verification: VerificationApp,
) -> None:
    """CAN-7: the enterprise (name, code), the legal person's sealed document and a pending
    remittance's bank account are erased, its window timer cancelled; RN-7: the released
    enterprise verifies another account."""
    verified, pending, waiting = [await verification.register() for _ in range(3)]
    uscc, company = await registered_enterprise(verification, "上海擦除测试科技有限公司")
    other_uscc, other_company = await registered_enterprise(verification, "杭州擦除汇款有限公司")
    legal_document, bank_account = random_resident_id(), random_bank_account()
    instant = await submit(
        verification,
        verified,
        uscc,
        company,
        "legal_person_wechat_scan",
        legal_person_document=legal_document,
    )
    assert instant.status_code == 201, instant.text
    waiting_reply = await remittance(verification, pending, other_uscc, other_company, bank_account)
    assert waiting_reply.status_code == 201, waiting_reply.text
    full = await submit(verification, waiting, uscc, company, "wechat_official_platform")
    assert full.json()["error"]["code"] == "ENTERPRISE_QUOTA_EXCEEDED"
    values = [uscc, company, other_uscc, other_company, legal_document, bank_account]
    assert found(await dump(verification), values), "the search finds them before"

    for account in (verified, pending):
        await complete(verification, account)

    async def both_confirmed() -> bool:
        return all([await confirmations(verification, a) for a in (verified, pending)])

    await eventually(both_confirmed, what="VerificationDataErased of both")

    assert found(await dump(verification), values) == []
    async with verification.ctx.runtime.engine.connect() as conn:
        attempt = (
            await conn.execute(
                sa.select(enterprise_attempts).where(enterprise_attempts.c.account_id == pending)
            )
        ).one()
        window = (await conn.execute(sa.select(timers).where(timers.c.account_id == pending))).one()
    assert (attempt.state, attempt.bank_sealed, attempt.amount_fen) == ("cancelled", None, 0)
    assert window.state == "cancelled"
    taken = await submit(verification, waiting, uscc, company, "wechat_official_platform")
    assert taken.status_code == 201, taken.text


async def test_rn_16_the_history_trigger_allows_only_the_erasure_update(
    verification: VerificationApp,
) -> None:
    """RN-16: the history stays append-only: a DELETE, a change of a transition, or any
    change of the details but the removal of the personal keys is refused."""
    account = await verification.register()
    assert (await verification.verify_person(account, random_resident_id())).status_code == 201
    database = verification.ctx.settings.database_name
    conn = await asyncpg.connect(f"{verification.scope.infra.postgres_dsn}/{database}")
    where = "WHERE account_id = $1"
    try:
        for statement in (
            f"DELETE FROM real_name_history {where}",
            f"UPDATE real_name_history SET status = 'verified', reason = 'x' {where}",
            f"UPDATE real_name_history SET details = details || '{{\"x\": 1}}' {where}",
            f"UPDATE real_name_history SET details = '{{}}', at = now() {where}",
        ):
            with pytest.raises(asyncpg.RaiseError, match="append-only"):
                await conn.execute(statement, account)
        erased = await conn.execute(
            "UPDATE real_name_history SET details = details - "
            f"ARRAY['name', 'uscc', 'legal_person', 'document'] {where}",
            account,
        )
        assert erased.endswith(("1", "2"))
    finally:
        await conn.close()


@pytest.fixture(scope="module")
async def reviewing(infra: Infra) -> AsyncIterator[VerificationApp]:
    async with verification_app(infra.scope(), operator_token=OPERATOR_TOKEN) as app:
        yield app


async def test_can_7_rn_11_change_requests_keep_their_decision_without_the_data(
    reviewing: VerificationApp,
) -> None:
    """CAN-7: a decided change keeps its state and decision, its reason without the
    numbers and names it quoted (and so does operator_actions); the change under review is
    closed (`withdrawn`) and its review timer cancelled; none of the values stays."""
    account = await reviewing.register()
    uscc, company = await registered_enterprise(reviewing, "深圳擦除变更有限公司")
    first, second, third = (random_resident_id() for _ in range(3))
    verified = await submit(
        reviewing, account, uscc, company, "legal_person_face", legal_person_document=first
    )
    assert verified.status_code == 201, verified.text
    await authenticated_days_ago(reviewing, account, 31)
    await standing(reviewing, account, datetime.now(UTC))
    proposed = await propose(
        reviewing, account, "legal_person", uscc, company, legal_person_document=second
    )
    assert proposed.status_code == 201, proposed.text
    rejected = await reviewing.client.post(
        f"/v1/operator/changes/{proposed.json()['id']}/reject",
        json={"reason": f"{second} is not {first} of {company} ({uscc})"},
        headers=OPERATOR,
    )
    assert rejected.status_code == 200, rejected.text
    waiting = await propose(
        reviewing, account, "legal_person", uscc, company, legal_person_document=third
    )
    assert waiting.status_code == 201, waiting.text
    values = [uscc, company, first, second, third]
    assert found(await dump(reviewing), values), "the search finds them before"

    await complete(reviewing, account)
    await eventually(lambda: confirmations(reviewing, account), what="VerificationDataErased")

    assert found(await dump(reviewing), values) == []
    async with reviewing.ctx.runtime.engine.connect() as conn:
        changes = (
            await conn.execute(
                sa.select(change_requests)
                .where(change_requests.c.account_id == account)
                .order_by(change_requests.c.id)
            )
        ).all()
        reasons: sa.ScalarResult[str | None] = await conn.scalars(
            sa.select(operator_actions.c.reason).where(operator_actions.c.account_id == account)
        )
        review: sa.ScalarResult[str] = await conn.scalars(
            sa.select(timers.c.state).where(
                timers.c.account_id == account, timers.c.kind == "change_review"
            )
        )
        audit, review_states = list(reasons), list(review)
    assert [(c.state, c.sealed, c.name) for c in changes] == [
        ("rejected", None, ""),
        ("withdrawn", None, ""),
    ]
    assert changes[0].decision_reason == "[erased] is not [erased] of [erased] ([erased])"
    assert audit == [changes[0].decision_reason]
    assert "scheduled" not in review_states and "cancelled" in review_states


async def test_can_7_only_the_cancellation_service_asks_for_an_erasure(
    verification: VerificationApp,
) -> None:
    """CAN-7: a CancellationCompleted from another producer erases nothing (dead-lettered as
    `untrusted_producer`); an account verification never heard of is confirmed at once."""
    account = await verification.register()
    assert (await verification.verify_person(account, random_resident_id())).status_code == 201
    forged = new_envelope(
        CancellationCompleted(application_id="forged", completed_at=datetime.now(UTC)),
        producer="identity",
        account_id=account,
    )
    topic = verification.scope.topic(Topic.CANCELLATION_EVENTS)
    await publish(verification.kafka, topic, forged)

    async def dead_lettered() -> bool:
        records = await read_all(verification.kafka, f"{topic}.dlq")
        return any(
            (r.value or b"").find(str(forged.event_id).encode()) >= 0
            and dict(r.headers).get("dlq.reason") == b"untrusted_producer"
            for r in records
        )

    await eventually(dead_lettered, what="the forged completion dead-lettered")
    body = (
        await verification.client.get("/v1/real-name", headers=verification.auth(account))
    ).json()
    assert body["account_status"] == "active" and body["person"] is not None
    assert await confirmations(verification, account) == []

    stranger = new_account_id()
    await complete(verification, stranger)
    (confirmed,) = await eventually(lambda: confirmations(verification, stranger), what="confirmed")
    assert confirmed.service == "verification"
