"""RN-5, RN-6, RN-7, RN-8, RN-15 over HTTP, the real broker, PostgreSQL and Redis: the
enterprise methods through the gateway port (the fake registry, checks and bank driven by
/v1/dev), recharge completed by billing's PaymentReceived, remittance with its amount and
its 2 tries, the 7-day windows as timers (across a restart too), the quota of 10 accounts
per enterprise under concurrency and its operator override, and the code's validation."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import structlog

from devkit.testing.enterprises import random_bank_account, random_uscc
from devkit.testing.facts import publish_fact
from devkit.testing.infra import Infra
from devkit.testing.kafka import read_all
from devkit.testing.people import random_resident_id
from devkit.testing.waiting import eventually
from services.verification.adapters.tables import operator_actions, timers
from services.verification.domain.enterprise import working_days_after
from services.verification.domain.personal import china_day
from shared.events import PayerKind, PaymentReceived
from tests.integration.verification.conftest import VerificationApp, verification_app
from tests.integration.verification.test_sensitive_data import dump

pytestmark = pytest.mark.integration

OPERATOR_TOKEN = "operator-token-for-tests-only-0123456789"


def code(reply: httpx.Response) -> str:
    return str(reply.json()["error"]["code"])


async def registered_enterprise(
    verification: VerificationApp, name: str = "北京示例科技有限公司", *, deregistered: bool = False
) -> tuple[str, str]:
    """A code the fake registry knows under `name`."""
    uscc = random_uscc()
    reply = await verification.client.put(
        "/v1/dev/registry", json={"uscc": uscc, "name": name, "deregistered": deregistered}
    )
    assert reply.status_code == 204, reply.text
    return uscc, name


async def submit(
    verification: VerificationApp,
    account: str,
    uscc: str,
    name: str,
    method: str,
    **extra: Any,
) -> httpx.Response:
    body = {"method": method, "name": name, "uscc": uscc, "legal_person_name": "张三", **extra}
    if method.startswith("legal_person") and "legal_person_document" not in extra:
        body["legal_person_document"] = random_resident_id()
    return await verification.client.post(
        "/v1/real-name/enterprise", json=body, headers=verification.auth(account)
    )


async def remittance(
    verification: VerificationApp, account: str, uscc: str, name: str, number: str | None = None
) -> httpx.Response:
    return await submit(
        verification,
        account,
        uscc,
        name,
        "remittance",
        bank_name="中国工商银行北京分行",
        bank_account_number=number or random_bank_account(),
    )


async def sent_amount(verification: VerificationApp, account: str) -> str:
    reply = await verification.client.get(f"/v1/dev/remittances/{account}")
    assert reply.status_code == 200, reply.text
    return str(reply.json()["amount"])


async def enter(verification: VerificationApp, account: str, amount: str) -> httpx.Response:
    return await verification.client.post(
        "/v1/real-name/enterprise/remittance/amount",
        json={"amount": amount},
        headers=verification.auth(account),
    )


async def real_name(verification: VerificationApp, account: str) -> dict[str, Any]:
    reply = await verification.client.get("/v1/real-name", headers=verification.auth(account))
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def other_amount(amount: str) -> str:
    fen = round(float(amount) * 100)
    return f"0.{(fen % 99) + 1:02d}"


@pytest.mark.parametrize(
    "method", ["wechat_official_platform", "legal_person_wechat_scan", "legal_person_face"]
)
async def test_rn_5_each_instant_enterprise_method_verifies_at_once(
    verification: VerificationApp, method: str
) -> None:
    account = await verification.register()
    uscc, name = await registered_enterprise(verification)

    reply = await submit(verification, account, uscc, name, method)

    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert (body["status"], body["subject"], body["method"]) == ("verified", "enterprise", method)
    assert body["enterprise"]["uscc"] == uscc and body["enterprise"]["legal_person"] == "张*"
    events = await verification.events_of(account, 2)
    assert [e.type for e in events] == ["RealNameChanged", "RealNameVerified"]
    assert events[1].payload.method.value == method


async def test_rn_5_an_instant_check_that_says_no_verifies_nothing_and_counts_nothing(
    verification: VerificationApp,
) -> None:
    account = await verification.register()
    uscc, name = await registered_enterprise(verification)
    told = await verification.client.put(
        "/v1/dev/enterprise-checks", json={"account_id": account, "outcome": "fail"}
    )
    assert told.status_code == 204

    refused = await submit(verification, account, uscc, name, "wechat_official_platform")

    assert refused.status_code == 400 and code(refused) == "ENTERPRISE_NOT_CONFIRMED"
    assert (await real_name(verification, account))["status"] == "unverified"


async def test_rn_5_recharge_completes_when_billing_reports_the_amount_from_the_corporate_account(
    verification: VerificationApp,
) -> None:
    account = await verification.register()
    uscc, name = await registered_enterprise(verification, "杭州示例（集团）有限公司")

    started = await submit(verification, account, uscc, name, "recharge")

    assert started.status_code == 201, started.text
    pending = started.json()["pending"]
    assert started.json()["status"] == "pending" and pending["method"] == "recharge"
    amount = pending["recharge_amount"]
    fen = round(float(amount) * 100)
    assert 1 <= fen <= 99
    expires = datetime.fromisoformat(pending["expires_at"])
    assert timedelta(days=6, hours=23) < expires - datetime.now(UTC) <= timedelta(days=7)

    def paid(n: int, fen: int, kind: PayerKind, payer: str) -> PaymentReceived:
        return PaymentReceived(
            payment_id=f"PAY-{account}-{n}",
            amount_fen=fen,
            payer_kind=kind,
            payer_name=payer,
            payer_account_masked="************1234",
            received_at=datetime.now(UTC),
        )

    scope = verification.scope
    # Not the amount, not corporate, not the enterprise's account: just payments.
    await publish_fact(scope, paid(1, fen % 99 + 1, PayerKind.CORPORATE, name), account)
    await publish_fact(scope, paid(2, fen, PayerKind.PERSONAL, name), account)
    await publish_fact(scope, paid(3, fen, PayerKind.CORPORATE, "另一家公司"), account)
    # From another producer than billing: dead-lettered, not believed.
    await publish_fact(scope, paid(4, fen, PayerKind.CORPORATE, name), account, producer="cam")
    await verification.settled("billing.events")
    assert (await real_name(verification, account))["status"] == "pending"

    # Full-width and half-width brackets are the same name.
    await publish_fact(scope, paid(5, fen, PayerKind.CORPORATE, "杭州示例(集团)有限公司"), account)

    async def verified() -> dict[str, Any] | None:
        body = await real_name(verification, account)
        return body if body["status"] == "verified" else None

    body = await eventually(verified, what="recharge completed")
    assert body["method"] == "recharge" and body["pending"] is None
    assert body["enterprise"]["name"] == "杭州示例（集团）有限公司"
    events = await verification.events_of(account, 3)
    assert [(e.type, getattr(e.payload, "status", None)) for e in events] == [
        ("RealNameChanged", "pending"),
        ("RealNameChanged", "verified"),
        ("RealNameVerified", None),
    ]


async def test_rn_5_remittance_verifies_with_the_amount_the_bank_sent_and_rn_17_masks_the_account(
    verification: VerificationApp,
) -> None:
    account = await verification.register()
    uscc, name = await registered_enterprise(verification)
    number = random_bank_account()

    started = await remittance(verification, account, uscc, name, number)

    assert started.status_code == 201, started.text
    pending = started.json()["pending"]
    assert pending["bank_account"] == "*" * 15 + number[-4:]
    assert pending["tries_left"] == 2 and pending["recharge_amount"] is None
    assert number not in started.text
    amount = await sent_amount(verification, account)
    assert amount not in started.text.replace(pending["expires_at"], "")

    done = await enter(verification, account, amount)

    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["method"]) == ("verified", "remittance")
    events = await verification.events_of(account, 4)
    assert [e.type for e in events] == [
        "RealNameChanged",
        "RemittanceSent",
        "RealNameChanged",
        "RealNameVerified",
    ]
    sent = events[1].payload
    assert sent.receiving_account_masked == "*" * 15 + number[-4:]
    assert sent.enter_by - sent.sent_at == timedelta(days=7)
    assert all(number not in e.model_dump_json() for e in events)


async def test_rn_5_two_wrong_amounts_end_the_remittance_and_the_bank_account_is_submitted_again(
    verification: VerificationApp,
) -> None:
    account = await verification.register()
    uscc, name = await registered_enterprise(verification)
    await remittance(verification, account, uscc, name)
    amount = await sent_amount(verification, account)

    not_an_amount = await enter(verification, account, "1.50")
    first = await enter(verification, account, other_amount(amount))
    second = await enter(verification, account, other_amount(amount))
    too_late = await enter(verification, account, amount)

    assert code(not_an_amount) == "AMOUNT_INVALID", "costs no try"
    assert first.status_code == 400 and code(first) == "REMITTANCE_AMOUNT_WRONG"
    assert first.json()["error"]["details"] == {"tries_left": 1}
    assert second.status_code == 409 and code(second) == "REMITTANCE_TRIES_EXHAUSTED"
    assert too_late.status_code == 409 and code(too_late) == "NOTHING_PENDING"
    body = await real_name(verification, account)
    assert body["status"] == "unverified" and body["pending"] is None
    assert body["history"][0]["reason"] == "abandoned"

    again = await remittance(verification, account, uscc, name)
    assert again.status_code == 201, again.text
    done = await enter(verification, account, await sent_amount(verification, account))
    assert done.json()["status"] == "verified"


async def test_rn_5_parallel_wrong_amounts_spend_at_most_the_two_tries(
    verification: VerificationApp,
) -> None:
    account = await verification.register()
    uscc, name = await registered_enterprise(verification)
    await remittance(verification, account, uscc, name)
    amount = await sent_amount(verification, account)

    replies = await asyncio.gather(
        *(enter(verification, account, other_amount(amount)) for _ in range(8))
    )

    codes = sorted(code(r) for r in replies)
    assert codes.count("REMITTANCE_AMOUNT_WRONG") == 1
    assert codes.count("REMITTANCE_TRIES_EXHAUSTED") == 1
    assert codes.count("NOTHING_PENDING") == 6
    right = await enter(verification, account, amount)
    assert code(right) == "NOTHING_PENDING", "the right amount after 2 wrong ones is too late"


async def test_rn_5_a_waiting_attempt_can_be_cancelled_and_counts_no_more(
    verification: VerificationApp,
) -> None:
    account = await verification.register()
    uscc, name = await registered_enterprise(verification)
    await submit(verification, account, uscc, name, "recharge")

    personal = await verification.verify_person(account, random_resident_id())
    cancelled = await verification.client.delete(
        "/v1/real-name/enterprise/pending", headers=verification.auth(account)
    )
    again = await verification.client.delete(
        "/v1/real-name/enterprise/pending", headers=verification.auth(account)
    )

    assert code(personal) == "VERIFICATION_PENDING"
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "unverified"
    assert code(again) == "NOTHING_PENDING"


@pytest.mark.verification_settings(recharge_window_s=2.0, timer_poll_interval_s=0.2)
async def test_rn_5_the_recharge_window_closes_by_its_timer(
    verification: VerificationApp,
) -> None:
    account = await verification.register()
    uscc, name = await registered_enterprise(verification)
    started = await submit(verification, account, uscc, name, "recharge")
    assert started.json()["status"] == "pending"

    async def back() -> dict[str, Any] | None:
        body = await real_name(verification, account)
        return body if body["status"] == "unverified" else None

    body = await eventually(back, what="window closed", timeout_s=30)
    assert body["pending"] is None and body["history"][0]["reason"] == "abandoned"
    # A payment after the window completes nothing; the place is free for the account again.
    amount = round(float(started.json()["pending"]["recharge_amount"]) * 100)
    await publish_fact(
        verification.scope,
        PaymentReceived(
            payment_id=f"PAY-late-{account}",
            amount_fen=amount,
            payer_kind=PayerKind.CORPORATE,
            payer_name=name,
            payer_account_masked="****1234",
            received_at=datetime.now(UTC),
        ),
        account,
    )
    await verification.settled("billing.events")
    assert (await real_name(verification, account))["status"] == "unverified"
    again = await submit(verification, account, uscc, name, "wechat_official_platform")
    assert again.status_code == 201, again.text


async def test_rn_5_a_remittance_timer_pending_across_a_restart_fires_once(infra: Infra) -> None:
    scope = infra.scope()
    settings: dict[str, Any] = {"remittance_window_s": 4.0, "timer_poll_interval_s": 0.2}
    async with verification_app(scope, **settings) as first:
        account = await first.register()
        uscc, name = await registered_enterprise(first)
        started = await remittance(first, account, uscc, name)
        assert started.json()["status"] == "pending"
    # The service is down; the window closes meanwhile. Two instances come back.
    async with (
        verification_app(scope, **settings) as second,
        verification_app(scope, **settings) as third,
    ):

        async def back() -> dict[str, Any] | None:
            body = await real_name(second, account)
            return body if body["status"] == "unverified" else None

        body = await eventually(back, what="timer fired after restart", timeout_s=30)
        abandoned = [h for h in body["history"] if h["reason"] == "abandoned"]
        assert len(abandoned) == 1
        async with third.ctx.runtime.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(timers.c.state, timers.c.attempts).where(
                        timers.c.account_id == account
                    )
                )
            ).all()
        assert [(r.state, r.attempts) for r in rows] == [("done", 1)]

        async def published() -> list[Any] | None:
            # The status is read from the database, the events from the topic: wait until
            # the abandonment is published too. The outbox publishes at least once: the
            # first instance's relay, stopped between publishing and marking its rows, leaves
            # them to the next leader, which publishes them again (under load, at once after
            # the submission). Consumers deduplicate by event_id; so does this.
            distinct = {e.event_id: e for e in await second.events(account)}
            changes = [e.payload for e in distinct.values() if e.type == "RealNameChanged"]
            return changes if any(c.reason == "abandoned" for c in changes) else None

        changes = await eventually(published, what="the abandonment published", timeout_s=30)
        assert [(c.status.value, c.reason) for c in changes] == [
            ("pending", "submitted"),
            ("unverified", "abandoned"),
        ]


@pytest.mark.parametrize("method", ["legal_person_wechat_scan", "legal_person_face"])
async def test_rn_6_a_foreign_legal_person_cannot_use_the_legal_person_methods(
    verification: VerificationApp, method: str
) -> None:
    account = await verification.register()
    uscc, name = await registered_enterprise(verification)

    refused = await submit(
        verification,
        account,
        uscc,
        name,
        method,
        legal_person_region="foreign",
        legal_person_document="E12345678",
    )
    allowed = await submit(
        verification, account, uscc, name, "wechat_official_platform", legal_person_region="foreign"
    )

    assert refused.status_code == 400 and code(refused) == "LEGAL_PERSON_FOREIGN"
    assert "legal_person_face" not in refused.json()["error"]["details"]["allowed_methods"]
    assert allowed.status_code == 201, allowed.text


async def test_rn_7_twenty_parallel_submissions_of_one_enterprise_verify_exactly_ten(
    verification: VerificationApp,
) -> None:
    uscc, name = await registered_enterprise(verification)
    accounts = [await verification.register() for _ in range(20)]

    replies = await asyncio.gather(
        *(submit(verification, a, uscc, name, "wechat_official_platform") for a in accounts)
    )

    statuses = sorted(r.status_code for r in replies)
    assert statuses == [201] * 10 + [409] * 10, [r.text for r in replies if r.status_code != 201]
    assert {code(r) for r in replies if r.status_code == 409} == {"ENTERPRISE_QUOTA_EXCEEDED"}


async def test_rn_7_pending_recharges_count_against_the_enterprise_and_one_account_one_enterprise(
    verification: VerificationApp,
) -> None:
    uscc, name = await registered_enterprise(verification)
    other, other_name = await registered_enterprise(verification, "上海另一有限公司")
    accounts = [await verification.register() for _ in range(11)]
    for a in accounts[:10]:
        assert (await submit(verification, a, uscc, name, "recharge")).status_code == 201

    full = await submit(verification, accounts[10], uscc, name, "wechat_official_platform")
    second = await submit(verification, accounts[0], other, other_name, "wechat_official_platform")

    assert code(full) == "ENTERPRISE_QUOTA_EXCEEDED"
    assert full.json()["error"]["details"] == {"limit": 10}
    assert code(second) == "VERIFICATION_PENDING"
    await verification.client.delete(
        "/v1/real-name/enterprise/pending", headers=verification.auth(accounts[0])
    )
    now_fits = await submit(verification, accounts[10], uscc, name, "wechat_official_platform")
    assert now_fits.status_code == 201
    verified_twice = await submit(
        verification, accounts[10], other, other_name, "wechat_official_platform"
    )
    assert code(verified_twice) == "ENTERPRISE_CHANGE_NEEDS_REVIEW"  # RN-11


@pytest.mark.verification_settings(operator_token=OPERATOR_TOKEN, enterprise_max_accounts=2)
async def test_rn_7_an_operator_raises_one_enterprises_limit_and_it_is_audited(
    verification: VerificationApp,
) -> None:
    uscc, name = await registered_enterprise(verification)
    untouched, untouched_name = await registered_enterprise(verification, "深圳某某有限公司")
    accounts = [await verification.register() for _ in range(4)]
    for a in accounts[:2]:
        assert (
            await submit(verification, a, uscc, name, "wechat_official_platform")
        ).status_code == 201
    assert code(
        await submit(verification, accounts[2], uscc, name, "wechat_official_platform")
    ) == ("ENTERPRISE_QUOTA_EXCEEDED")
    path = f"/v1/operator/enterprises/{uscc}/limit"
    body = {"limit": 3, "reason": "group company, ticket 4711"}

    anonymous = await verification.client.put(path, json=body)
    raised = await verification.client.put(
        path,
        json=body,
        headers={"authorization": f"Bearer {OPERATOR_TOKEN}", "x-operator-id": "op-7"},
    )

    assert anonymous.status_code == 401
    assert raised.status_code == 200, raised.text
    assert raised.json() == {
        "uscc": uscc,
        "limit": 3,
        "default": 2,
        "overridden": True,
        "previous": None,
        "counted": 2,
    }
    assert (await submit(verification, accounts[2], uscc, name, "recharge")).status_code == 201
    assert code(await submit(verification, accounts[3], uscc, name, "recharge")) == (
        "ENTERPRISE_QUOTA_EXCEEDED"
    )
    for a in accounts[3:]:
        other = await submit(verification, a, untouched, untouched_name, "recharge")
        assert other.status_code == 201, "the other enterprise keeps the default"
    async with verification.ctx.runtime.engine.connect() as conn:
        audit = (
            await conn.execute(
                sa.select(operator_actions).where(operator_actions.c.subject == f"uscc:{uscc}")
            )
        ).all()
    assert [(a.operator_id, a.action) for a in audit] == [("op-7", "enterprise_limit_set")]
    assert "ticket 4711" in (audit[0].reason or "")


async def test_rn_8_the_code_is_validated_and_a_wrong_one_is_corrected_by_submitting_again(
    verification: VerificationApp,
) -> None:
    account = await verification.register()
    uscc, name = await registered_enterprise(verification)
    wrong_checksum = uscc[:-1] + ("0" if uscc[-1] != "0" else "1")
    unknown = random_uscc()

    checksum = await submit(verification, account, wrong_checksum, name, "recharge")
    short = await submit(verification, account, uscc[:17], name, "recharge")
    lowercase_letters = await submit(verification, account, "a" + uscc[1:], name, "recharge")
    not_registered = await submit(verification, account, unknown, name, "recharge")
    wrong_name = await submit(verification, account, uscc, "别的名字有限公司", "recharge")

    assert checksum.json()["error"]["details"] == {"problem": "checksum"}
    assert short.json()["error"]["details"] == {"problem": "length"}
    assert code(lowercase_letters) == "USCC_INVALID"
    assert code(not_registered) == "ENTERPRISE_NOT_IN_REGISTRY"
    assert code(wrong_name) == "ENTERPRISE_MISMATCH"
    assert (await real_name(verification, account))["history"] == [], "nothing stored"

    # A recharge started with a code the registry knows, then corrected: cancel, submit again.
    other, other_name = await registered_enterprise(verification, "北京另一科技有限公司")
    assert (await submit(verification, account, other, other_name, "recharge")).status_code == 201
    await verification.client.delete(
        "/v1/real-name/enterprise/pending", headers=verification.auth(account)
    )
    corrected = await submit(verification, account, uscc.lower(), name, "wechat_official_platform")
    assert corrected.status_code == 201, corrected.text
    assert corrected.json()["enterprise"]["uscc"] == uscc


async def test_rn_15_a_licence_too_new_for_the_registry_gets_its_own_code(
    verification: VerificationApp,
) -> None:
    account = await verification.register()
    today = china_day(datetime.now(UTC))
    fresh = await submit(
        verification,
        account,
        random_uscc(),
        "新设立科技有限公司",
        "wechat_official_platform",
        licence_issued_on=(today - timedelta(days=2)).isoformat(),
    )
    old = await submit(
        verification,
        account,
        random_uscc(),
        "新设立科技有限公司",
        "wechat_official_platform",
        licence_issued_on=(today - timedelta(days=30)).isoformat(),
    )

    assert fresh.status_code == 409 and code(fresh) == "LICENCE_TOO_NEW"
    retry_from = working_days_after(today - timedelta(days=2), 7)
    assert fresh.json()["error"]["details"] == {"retry_from": retry_from.isoformat()}
    assert isinstance(date.fromisoformat(fresh.json()["error"]["details"]["retry_from"]), date)
    assert code(old) == "ENTERPRISE_NOT_IN_REGISTRY"


async def test_rn_5_enterprise_submissions_need_a_step_up_and_a_mainland_enterprise(
    verification: VerificationApp,
) -> None:
    account = await verification.register()
    uscc, name = await registered_enterprise(verification)
    body = {
        "method": "wechat_official_platform",
        "name": name,
        "uscc": uscc,
        "legal_person_name": "张三",
    }

    no_step_up = await verification.client.post(
        "/v1/real-name/enterprise", json=body, headers=verification.auth(account, False)
    )
    hong_kong = await verification.client.post(
        "/v1/real-name/enterprise",
        json={**body, "region": "hong_kong"},
        headers=verification.auth(account),
    )

    assert code(no_step_up) == "STEP_UP_REQUIRED"
    assert code(hong_kong) == "INTERNATIONAL_SITE_ONLY"


async def test_rn_17_bank_accounts_and_legal_persons_documents_never_in_clear(
    verification: VerificationApp, caplog: pytest.LogCaptureFixture
) -> None:
    number = random_bank_account()
    document = random_resident_id()
    uscc, name = await registered_enterprise(verification)
    remitting, scanning, refused = [await verification.register() for _ in range(3)]
    replies: list[httpx.Response] = []
    with structlog.testing.capture_logs() as logs:
        replies.append(await remittance(verification, remitting, uscc, name, number))
        amount = await sent_amount(verification, remitting)
        replies.append(await enter(verification, remitting, other_amount(amount)))
        replies.append(await enter(verification, remitting, amount))
        replies.append(
            await submit(
                verification,
                scanning,
                uscc,
                name,
                "legal_person_face",
                legal_person_document=document,
            )
        )
        await verification.client.put(
            "/v1/dev/enterprise-checks", json={"account_id": refused, "outcome": "fail"}
        )
        replies.append(
            await submit(
                verification,
                refused,
                uscc,
                name,
                "legal_person_face",
                legal_person_document=document,
            )
        )
        for account in (remitting, scanning, refused):
            replies.append(
                await verification.client.get("/v1/real-name", headers=verification.auth(account))
            )
        await verification.events_of(remitting, 4)
        await verification.events_of(scanning, 2)

    assert [r.status_code for r in replies[:5]] == [201, 400, 200, 201, 400]
    masked_number = "*" * 15 + number[-4:]
    assert masked_number in replies[0].text
    assert replies[3].json()["enterprise"]["legal_person_document"] == (
        document[0] + "*" * 16 + document[-1]
    )
    secrets = {number, number[:-4], document, document[:17], number.encode().hex()}

    def leaked(text: str) -> list[str]:
        return sorted(s for s in secrets if s in text)

    assert any(entry["event"] == "remittance_sent" for entry in logs), "logs were captured"
    assert leaked("\n".join(repr(e) for e in logs) + caplog.text) == []
    assert leaked("\n".join(r.text for r in replies)) == []
    for topic in ["verification.events", "billing.events.dlq", "verification.events.dlq"]:
        records = await read_all(verification.kafka, verification.scope.topic(topic))
        assert leaked("\n".join(repr((r.key, r.value, r.headers)) for r in records)) == [], topic
    assert leaked(await dump(verification)) == []


@pytest.mark.verification_settings(remittances_per_day=2)
async def test_rn_5_an_account_starts_a_bounded_number_of_remittances_a_day(
    verification: VerificationApp,
) -> None:
    """Each remittance sends the platform's money: wrong twice and submit again is not a way
    to make it send without end."""
    account = await verification.register()
    uscc, name = await registered_enterprise(verification)
    for _ in range(2):
        assert (await remittance(verification, account, uscc, name)).status_code == 201
        amount = await sent_amount(verification, account)
        await enter(verification, account, other_amount(amount))
        assert code(await enter(verification, account, other_amount(amount))) == (
            "REMITTANCE_TRIES_EXHAUSTED"
        )

    third = await remittance(verification, account, uscc, name)
    other_method = await submit(verification, account, uscc, name, "recharge")

    assert third.status_code == 429 and code(third) == "REMITTANCE_LIMIT_REACHED"
    details = third.json()["error"]["details"]
    assert details["limit"] == 2 and 0 < details["retry_after_s"] <= 86400
    assert other_method.status_code == 201, "the other methods stay open"
