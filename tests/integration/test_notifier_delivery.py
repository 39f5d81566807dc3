"""The notifier in-process over the real broker, PostgreSQL and Redis, sending to real sinks:
SMTP (the mail sink) and HTTP (the SMS sink, told to fail where a test needs it).

One notifier serves the whole module (consumer groups take seconds to join); every test uses
its own accounts, phones and addresses.
"""

from __future__ import annotations

import asyncio
import email
import itertools
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord

from devkit.broker import free_port
from devkit.mailsink import MailSink, ReceivedMail
from devkit.smssink import ReceivedSms, SmsSink
from devkit.testing.infra import Infra, Scope
from devkit.testing.kafka import group_lag, read_all
from devkit.testing.services import running
from devkit.testing.waiting import eventually
from services.notifier.main import spec
from services.notifier.settings import NotifierSettings
from shared.events import (
    REGISTRY,
    AccountContacts,
    AccountRegistered,
    AccountStatus,
    AccountStatusChanged,
    AppealDecided,
    CancellationCompleted,
    Channel,
    Envelope,
    EventPayload,
    LoginMethodBound,
    LoginMethodKind,
    LoginMethodUnbound,
    MfaCodeReplayed,
    MfaCodeUse,
    NotificationFailed,
    NotificationRequested,
    NotificationSent,
    PasswordChanged,
    SecurePhoneChanged,
    decode,
    encode,
    headers_of,
    new_envelope,
)
from shared.events.topics import owner_of_topic

pytestmark = pytest.mark.integration

TOKEN = "test-operator-token"
OPERATOR = {"Authorization": f"Bearer {TOKEN}", "X-Operator-Id": "ops-007"}
NOW = datetime(2026, 11, 22, 8, 30, tzinfo=UTC)
_numbers = itertools.count(1)


@dataclass(frozen=True)
class Account:
    """An account with four distinct channels, unique within the run."""

    id: str
    secure_phone: str
    secure_email: str
    message_phone: str
    contact_email: str

    @classmethod
    def new(cls) -> Account:
        n = next(_numbers)
        tag = uuid.uuid4().hex[:6]
        return cls(
            id=f"7{n:011d}",
            secure_phone=f"+86181{n:04d}{int(tag[:4], 16) % 10000:04d}",
            secure_email=f"secure.{tag}@example.com",
            message_phone=f"+86139{n:04d}{int(tag[2:], 16) % 10000:04d}",
            contact_email=f"contact.{tag}@example.com",
        )


@dataclass
class Stack:
    scope: Scope
    settings: NotifierSettings
    client: httpx.AsyncClient
    sms: SmsSink
    mail: MailSink
    producer: AIOKafkaProducer

    async def publish(self, topic: str, payload: EventPayload, account: str) -> Envelope[Any]:
        # As the topic's owner would (the notifier believes an owned topic from its owner).
        producer = owner_of_topic(topic) or "identity"
        envelope = new_envelope(payload, producer=producer, account_id=account)
        await self.send(topic, envelope)
        return envelope

    async def send(self, topic: str, envelope: Envelope[Any]) -> None:
        await self.producer.send_and_wait(
            self.scope.topic(topic),
            value=encode(envelope),
            key=envelope.account_id.encode(),
            headers=headers_of(envelope),
        )

    async def contacts(self, account: Account, *, language: str = "en", **only: Any) -> None:
        channels: dict[str, str | None] = {
            "secure_phone": account.secure_phone,
            "secure_email": account.secure_email,
            "message_phone": account.message_phone,
            "contact_email": account.contact_email,
        }
        if only:
            channels = {k: only.get(k) for k in channels}
        await self.publish(
            "identity.contacts", AccountContacts(language=language, **channels), account.id
        )

        async def projected() -> object:
            return await self.fetchval("SELECT 1 FROM contacts WHERE account_id = $1", account.id)

        await eventually(projected, what="the contacts projected")

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(
            f"{self.scope.infra.postgres_dsn}/{self.settings.database_name}"
        )
        try:
            rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
            return rows
        finally:
            await conn.close()

    async def fetchval(self, sql: str, *args: Any) -> Any:
        rows = await self.fetch(sql, *args)
        return rows[0][0] if rows else None

    async def deliveries(self, account_id: str) -> list[asyncpg.Record]:
        return await self.fetch(
            "SELECT * FROM deliveries WHERE account_id = $1 ORDER BY channel", account_id
        )

    async def finished(self, account_id: str, count: int) -> list[asyncpg.Record]:
        """Wait until the account has `count` deliveries, all finished."""

        async def done() -> list[asyncpg.Record]:
            rows = await self.deliveries(account_id)
            finished = [r for r in rows if r["status"] in ("sent", "failed", "skipped")]
            return rows if len(rows) == count and len(finished) == count else []

        return await eventually(done, what=f"{count} finished deliveries of {account_id}")

    async def outcomes(self, account_id: str) -> list[Envelope[Any]]:
        records = await read_all(self.scope.infra.kafka, self.scope.topic("notifier.events"))
        events = [decode(r.value, REGISTRY) for r in records if r.value is not None]
        return [e for e in events if e.account_id == account_id]

    async def dead_letters(self, account_id: str) -> list[ConsumerRecord[bytes, bytes]]:
        records = await read_all(self.scope.infra.kafka, self.scope.topic("notifier.requests.dlq"))
        # At-least-once publishing: a dead letter may appear twice, with one event_id.
        unique = {dict(r.headers)["event_id"]: r for r in records if r.key == account_id.encode()}
        return list(unique.values())

    def sms_to(self, phone: str) -> list[ReceivedSms]:
        return [m for m in self.sms.snapshot() if m.phone_number == phone]

    def mail_to(self, address: str) -> list[ReceivedMail]:
        return [m for m in self.mail.snapshot() if address in m.rcpt_to]


@pytest.fixture(scope="module")
async def stack(infra: Infra) -> AsyncIterator[Stack]:
    scope = infra.scope()
    sms = SmsSink().start()
    mail = MailSink(free_port())
    mail.start()
    settings = scope.settings(
        NotifierSettings,
        smtp_port=mail.port,
        sms_api_url=sms.url,
        operator_token=TOKEN,
        delivery_max_attempts=3,
        delivery_backoff_s=0.2,
        delivery_backoff_max_s=1.0,
        delivery_contacts_grace_s=2.0,
    )
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka, acks="all")
    await producer.start()
    try:
        async with running(spec(settings)) as (_, client):
            yield Stack(scope, settings, client, sms, mail, producer)
    finally:
        await producer.stop()
        sms.stop()
        mail.stop()


async def test_not_1_not_5_sec_4_security_messages_reach_the_secure_phone_and_the_secure_email(
    stack: Stack,
) -> None:
    """SEC-4, NOT-1, NOT-5: a binding change is a security message: one SMS to the secure
    phone (over the provider's HTTP API) and one email to the secure email (over SMTP), never
    to the contact channels; NOT-2: in the account's language, personal data masked."""
    account = Account.new()
    await stack.contacts(account, language="en")
    event = await stack.publish(
        "identity.events",
        LoginMethodBound(kind=LoginMethodKind.WECHAT, identifier_masked="o6_b***Nw", bound_at=NOW),
        account.id,
    )

    rows = await stack.finished(account.id, 2)
    assert [(r["channel"], r["status"], r["attempts"]) for r in rows] == [
        ("email", "sent", 1),
        ("sms", "sent", 1),
    ]
    (sms,) = stack.sms_to(account.secure_phone)
    assert sms.template_id == "login_method_bound.en"
    assert sms.sign_name == stack.settings.sms_sign_name
    assert "WeChat o6_b***Nw" in sms.content and account.id in sms.content
    assert sms.client_request_id == str(next(r["id"] for r in rows if r["channel"] == "sms"))
    (mail,) = stack.mail_to(account.secure_email)
    assert mail.subject == "A login method was bound to your account"
    assert "o6_b***Nw" in mail.text and "2026-11-22 08:30 UTC" in mail.text
    assert "<b>o6_b***Nw</b>" in mail.html and '<html lang="en">' in mail.html
    assert not stack.sms_to(account.message_phone) and not stack.mail_to(account.contact_email)

    async def both_sent() -> list[Envelope[Any]]:
        events = await stack.outcomes(account.id)
        return events if len(events) == 2 else []

    sent = await eventually(both_sent, what="two NotificationSent")
    assert all(isinstance(e.payload, NotificationSent) for e in sent)
    assert {e.payload.destination_masked for e in sent} == {
        f"+86 {account.secure_phone[3:6]}****{account.secure_phone[-4:]}",
        f"s***@{account.secure_email.split('@')[1]}",
    }
    assert {e.payload.source_event_id for e in sent} == {str(event.event_id)}
    # Finished records keep the masked destination only.
    assert [r["destination"] for r in rows] == [None, None]


async def test_sec_4_a_security_message_goes_to_the_secure_channels_that_exist(
    stack: Stack,
) -> None:
    """SEC-4: with a secure phone and no secure email, the SMS goes and the email channel is
    recorded as skipped (no failure: the person is reached)."""
    account = Account.new()
    await stack.contacts(
        account, secure_phone=account.secure_phone, contact_email=account.contact_email
    )
    await stack.publish(
        "identity.events",
        LoginMethodUnbound(kind=LoginMethodKind.QQ, identifier_masked="12***89", unbound_at=NOW),
        account.id,
    )
    rows = await stack.finished(account.id, 2)
    assert [(r["channel"], r["status"]) for r in rows] == [("email", "skipped"), ("sms", "sent")]
    assert rows[0]["last_error"] == "no_email_destination"
    assert len(stack.sms_to(account.secure_phone)) == 1
    assert not stack.mail_to(account.contact_email)


async def test_mfa_3_a_replayed_totp_code_reaches_the_secure_phone_and_the_secure_email(
    stack: Stack,
) -> None:
    """MFA-3: identity refuses a replayed TOTP code and publishes MfaCodeReplayed; the owner
    hears it on the secure phone (SMS provider API) and the secure email (SMTP), in the
    account's language, never on the contact channels and never with a code."""
    account = Account.new()
    await stack.contacts(account, language="zh-CN")
    event = await stack.publish(
        "identity.events", MfaCodeReplayed(at=NOW, during=MfaCodeUse.LOGIN), account.id
    )

    rows = await stack.finished(account.id, 2)
    assert [(r["channel"], r["message_type"], r["status"]) for r in rows] == [
        ("email", "mfa_code_replayed", "sent"),
        ("sms", "mfa_code_replayed", "sent"),
    ]
    assert {r["source_event_id"] for r in rows} == {event.event_id}
    (sms,) = stack.sms_to(account.secure_phone)
    assert sms.template_id == "mfa_code_replayed.zh-CN"
    assert account.id in sms.content and "MFA" in sms.content
    (mail,) = stack.mail_to(account.secure_email)
    assert mail.subject == "MFA 验证码被重复使用"
    assert "2026-11-22 08:30 UTC" in mail.text and "登录" in mail.text
    assert not stack.sms_to(account.message_phone) and not stack.mail_to(account.contact_email)


async def test_rec_2_an_appeal_decision_reaches_the_secure_channels_and_the_appeals_email(
    stack: Stack,
) -> None:
    """REC-2: AppealDecided goes to the secure channels (routed), and the request identity
    sends for the appeal's new email reaches that email, about the envelope's account."""
    account = Account.new()
    await stack.contacts(account, language="en")
    applicant = f"applicant.{uuid.uuid4().hex[:6]}@example.com"
    await stack.publish(
        "identity.events",
        AppealDecided(
            appeal_id="ap-1",
            approved=True,
            email_masked="a***@example.com",
            decided_at=NOW,
        ),
        account.id,
    )
    await stack.publish(
        "notifier.requests",
        NotificationRequested(
            message_type="appeal_decided",
            channel=Channel.EMAIL,
            destination=applicant,
            language="en",
            params={
                "appeal_id": "ap-1",
                "decision": "approved",
                "reason": "-",
                "email": "a***@example.com",
                "at": "2026-11-22 08:30 UTC",
            },
        ),
        account.id,
    )

    rows = await stack.finished(account.id, 3)
    assert {r["status"] for r in rows} == {"sent"}
    assert len(stack.sms_to(account.secure_phone)) == 1
    (routed,) = stack.mail_to(account.secure_email)
    (requested,) = stack.mail_to(applicant)
    for mail in (routed, requested):
        assert mail.subject == "Your account recovery appeal was approved"
        assert f"account {account.id}" in mail.text


async def test_sec_4_billing_alerts_go_to_the_message_receiving_phone(stack: Stack) -> None:
    """SEC-4: a business alert (the account frozen for an overdue payment) goes to the
    message-receiving phone (and the contact email), not to the secure channels."""
    account = Account.new()
    await stack.contacts(account, language="zh-CN")
    await stack.publish(
        "identity.events",
        AccountStatusChanged(
            status=AccountStatus.FROZEN, frozen_reasons=["overdue"], changed_at=NOW
        ),
        account.id,
    )
    rows = await stack.finished(account.id, 2)
    assert {r["category"] for r in rows} == {"billing"}
    (sms,) = stack.sms_to(account.message_phone)
    assert "欠费" in sms.content and sms.template_id == "account_frozen.zh-CN"
    (mail,) = stack.mail_to(account.contact_email)
    assert mail.subject == "您的账号已被冻结"
    assert not stack.sms_to(account.secure_phone) and not stack.mail_to(account.secure_email)


async def test_sec_4_product_notices_go_to_the_contact_email_only(stack: Stack) -> None:
    """SEC-4: the welcome notice goes to the contact email; no SMS."""
    account = Account.new()
    await stack.contacts(account)
    await stack.publish(
        "identity.events",
        AccountRegistered(
            registered_at=NOW,
            method=LoginMethodKind.EMAIL,
            email_masked="c***@example.com",
            language="en",
        ),
        account.id,
    )
    (row,) = await stack.finished(account.id, 1)
    assert (row["channel"], row["category"], row["status"]) == ("email", "product", "sent")
    (mail,) = stack.mail_to(account.contact_email)
    assert mail.subject == "Welcome to Account Center"
    assert not stack.mail_to(account.secure_email) and not stack.sms_to(account.secure_phone)


async def test_not_3_the_same_event_delivered_twice_sends_one_message(stack: Stack) -> None:
    """NOT-3: an event redelivered (same event_id) sends one message per channel."""
    account = Account.new()
    await stack.contacts(account)
    event = new_envelope(
        PasswordChanged(how="reset", at=NOW), producer="identity", account_id=account.id
    )
    code = new_envelope(
        NotificationRequested(
            message_type="verification_code",
            channel=Channel.SMS,
            destination=account.message_phone,
            params={"code": "246810", "minutes": "5"},
        ),
        producer="identity",
        account_id=account.id,
    )
    for _ in range(2):
        await stack.send("identity.events", event)
        await stack.send("notifier.requests", code)

    await stack.finished(account.id, 3)
    for topic in ("identity.events", "notifier.requests"):

        async def consumed(topic: str = topic) -> bool:
            group = f"{stack.settings.consumer_group}.{topic}"
            return await group_lag(stack.scope.infra.kafka, group, stack.scope.topic(topic)) == 0

        await eventually(consumed, what=f"both copies consumed from {topic}")
    assert len(stack.sms_to(account.secure_phone)) == 1
    assert len(stack.mail_to(account.secure_email)) == 1
    assert len(stack.sms_to(account.message_phone)) == 1
    assert len(await stack.deliveries(account.id)) == 3


async def test_not_3_sms_failing_twice_then_recovering_is_delivered_once_after_three_attempts(
    stack: Stack,
) -> None:
    """NOT-3: transient provider failures (HTTP 503, then a per-number "throttled") are retried
    with backoff; the message arrives once, on the third attempt, and another account's
    message is not held up meanwhile."""
    slow, other = Account.new(), Account.new()
    stack.sms.fail(1, "unavailable", phone=slow.secure_phone)
    stack.sms.fail(1, "throttled", phone=slow.secure_phone)
    code = NotificationRequested(
        message_type="verification_code",
        channel=Channel.SMS,
        destination=slow.secure_phone,
        language="en",
        params={"code": "135790", "minutes": "5"},
    )
    await stack.publish("notifier.requests", code, slow.id)
    await stack.publish(
        "notifier.requests",
        code.model_copy(update={"destination": other.secure_phone}),
        other.id,
    )

    (row,) = await stack.finished(slow.id, 1)
    assert (row["status"], row["attempts"]) == ("sent", 3)
    assert "throttled" in row["last_error"]
    (delivered,) = stack.sms_to(slow.secure_phone)
    assert delivered.template_params == ("135790", "5")
    await stack.finished(other.id, 1)
    (fast,) = stack.sms_to(other.secure_phone)
    assert fast.received_at < delivered.received_at, "another account waited for the retries"
    (sent,) = await eventually(lambda: stack.outcomes(slow.id), what="NotificationSent")
    assert isinstance(sent.payload, NotificationSent) and sent.payload.attempts == 3
    # The code was only ever in the message: the record and the event do not carry it.
    assert json.loads(row["params"])["code"] == "******"
    assert "135790" not in sent.model_dump_json()


async def test_not_3_a_permanent_failure_writes_notification_failed_and_a_dead_letter(
    stack: Stack,
) -> None:
    """NOT-3: a permanent refusal (invalid number) is not retried: the record fails, and
    NotificationFailed and a dead letter with the reason are published."""
    account = Account.new()
    stack.sms.fail(None, "invalid_number", phone=account.secure_phone)
    request = await stack.publish(
        "notifier.requests",
        NotificationRequested(
            message_type="verification_code",
            channel=Channel.SMS,
            destination=account.secure_phone,
            params={"code": "112233", "minutes": "5"},
        ),
        account.id,
    )
    (row,) = await stack.finished(account.id, 1)
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert row["last_error"].startswith("permanent: SMS invalid_number")
    assert not stack.sms_to(account.secure_phone)

    (failed,) = await eventually(lambda: stack.outcomes(account.id), what="NotificationFailed")
    assert isinstance(failed.payload, NotificationFailed)
    assert failed.payload.source_event_id == str(request.event_id)
    assert failed.payload.reason == row["last_error"]
    assert failed.payload.destination_masked == row["destination_masked"]
    (letter,) = await eventually(lambda: stack.dead_letters(account.id), what="a dead letter")
    headers = dict(letter.headers)
    assert headers["dlq.reason"] == b"delivery_failed"
    assert headers["dlq.error"].startswith(b"permanent: SMS invalid_number")
    assert headers["dlq.delivery_id"] == str(row["id"]).encode()
    body = json.loads(letter.value or b"{}")["payload"]
    assert body["params"]["code"] == "******"
    assert body["destination_masked"].startswith("+86 181****")
    assert account.secure_phone not in (letter.value or b"").decode()


async def test_not_3_exhausted_retries_write_notification_failed_and_a_dead_letter(
    stack: Stack,
) -> None:
    """NOT-3: a provider that stays down is retried DELIVERY_MAX_ATTEMPTS times, then the
    delivery fails with a dead letter; nothing is dropped silently."""
    account = Account.new()
    stack.sms.fail(None, "unavailable", phone=account.secure_phone)
    await stack.contacts(account, secure_phone=account.secure_phone)
    await stack.publish(
        "identity.events",
        SecurePhoneChanged(phone_masked="+86 181****0000", previous_masked=None, at=NOW),
        account.id,
    )
    rows = await stack.finished(account.id, 2)
    assert [(r["channel"], r["status"]) for r in rows] == [("email", "skipped"), ("sms", "failed")]
    assert rows[1]["attempts"] == stack.settings.delivery_max_attempts
    assert rows[1]["last_error"].startswith("retries_exhausted after 3 attempts")
    (failed,) = await eventually(lambda: stack.outcomes(account.id), what="NotificationFailed")
    assert isinstance(failed.payload, NotificationFailed) and failed.payload.attempts == 3
    assert await eventually(lambda: stack.dead_letters(account.id), what="a dead letter")


async def test_not_3_a_message_nobody_can_receive_fails_loudly(stack: Stack) -> None:
    """NOT-3: no contacts ever arrive for the account: after the grace period both channels
    fail with no_destination, each with NotificationFailed and a dead letter."""
    account = Account.new()
    await stack.publish(
        "identity.events",
        LoginMethodBound(kind=LoginMethodKind.QQ, identifier_masked="12***89", bound_at=NOW),
        account.id,
    )
    rows = await stack.finished(account.id, 2)
    assert {(r["status"], r["last_error"]) for r in rows} == {("failed", "no_destination")}

    async def two(probe: Any) -> Any:
        found = await probe(account.id)
        return found if len(found) == 2 else []

    assert await eventually(lambda: two(stack.outcomes), what="two NotificationFailed")
    assert await eventually(lambda: two(stack.dead_letters), what="two dead letters")


async def test_can_7_a_tombstone_right_after_the_completion_erases_the_contacts_after_the_notice(
    stack: Stack,
) -> None:
    """CAN-7, CAN-8: identity.contacts' tombstone arriving while the completion notice is
    queued: the notice still reaches the person, then the notifier's erasure deletes its
    copy of the account's channels (tests/integration/test_notifier_cancellation.py has the
    other orders)."""
    account = Account.new()
    await stack.contacts(account)
    await stack.publish(
        "cancellation.events",
        CancellationCompleted(application_id="app-1", completed_at=NOW),
        account.id,
    )

    async def queued() -> bool:
        return len(await stack.deliveries(account.id)) == 2

    await eventually(queued, what="the cancellation result queued")
    await stack.producer.send_and_wait(
        stack.scope.topic("identity.contacts"), value=None, key=account.id.encode()
    )

    async def erased() -> bool:
        left: int = await stack.fetchval(
            "SELECT count(*) FROM contacts WHERE account_id = $1", account.id
        )
        return left == 0

    await eventually(erased, what="the contacts erased")
    rows = await stack.finished(account.id, 2)
    assert {r["status"] for r in rows} == {"sent"}
    assert len(stack.sms_to(account.secure_phone)) == 1
    assert len(stack.mail_to(account.secure_email)) == 1


async def test_not_4_the_audit_lists_records_masked_by_account_type_and_time_for_operators_only(
    stack: Stack,
) -> None:
    """NOT-4: delivery records (what, to whom masked, when, status, attempts) by account,
    message type and time range; the operator credential is required."""
    account = Account.new()
    await stack.contacts(account)
    await stack.publish("identity.events", PasswordChanged(how="change", at=NOW), account.id)
    await stack.publish(
        "notifier.requests",
        NotificationRequested(
            message_type="verification_code",
            channel=Channel.EMAIL,
            destination=account.secure_email,
            params={"code": "975310", "minutes": "5"},
        ),
        account.id,
    )
    await stack.finished(account.id, 3)
    url = "/v1/operator/deliveries"

    missing = await stack.client.get(url, params={"account_id": account.id})
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "OPERATOR_UNAUTHENTICATED"
    wrong = await stack.client.get(
        url, params={"account_id": account.id}, headers={**OPERATOR, "Authorization": "Bearer x"}
    )
    assert wrong.status_code == 401
    anonymous = await stack.client.get(
        url, params={"account_id": account.id}, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert anonymous.status_code == 401

    reply = await stack.client.get(url, params={"account_id": account.id}, headers=OPERATOR)
    assert reply.status_code == 200
    body = reply.json()
    assert body["count"] == 3
    assert {
        (d["message_type"], d["channel"], d["status"], d["attempts"]) for d in body["deliveries"]
    } == {
        ("password_changed", "sms", "sent", 1),
        ("password_changed", "email", "sent", 1),
        ("verification_code", "email", "sent", 1),
    }
    for secret in (account.secure_phone, account.secure_email, "975310"):
        assert secret not in reply.text
    assert {d["destination_masked"] for d in body["deliveries"]} == {
        f"+86 {account.secure_phone[3:6]}****{account.secure_phone[-4:]}",
        f"s***@{account.secure_email.split('@')[1]}",
    }

    by_type = await stack.client.get(
        url,
        params={"account_id": account.id, "message_type": "verification_code"},
        headers=OPERATOR,
    )
    assert [d["message_type"] for d in by_type.json()["deliveries"]] == ["verification_code"]
    created = datetime.fromisoformat(body["deliveries"][0]["created_at"])
    later = await stack.client.get(
        url,
        params={"account_id": account.id, "since": (created + timedelta(hours=1)).isoformat()},
        headers=OPERATOR,
    )
    assert later.json()["count"] == 0
    window = await stack.client.get(
        url,
        params={
            "account_id": account.id,
            "since": (created - timedelta(hours=1)).isoformat(),
            "until": (created + timedelta(hours=1)).isoformat(),
        },
        headers=OPERATOR,
    )
    assert window.json()["count"] == 3
    backwards = await stack.client.get(
        url,
        params={"since": created.isoformat(), "until": (created - timedelta(1)).isoformat()},
        headers=OPERATOR,
    )
    assert backwards.status_code == 400
    assert backwards.json()["error"]["code"] == "INVALID_TIME_RANGE"


async def test_sending_keeps_up_with_a_burst_without_duplicates(stack: Stack) -> None:
    """NOT-3: forty codes at once, each sent exactly once by the concurrent workers."""
    accounts = [Account.new() for _ in range(40)]
    await asyncio.gather(
        *(
            stack.publish(
                "notifier.requests",
                NotificationRequested(
                    message_type="verification_code",
                    channel=Channel.SMS,
                    destination=a.secure_phone,
                    params={"code": "000111", "minutes": "5"},
                ),
                a.id,
            )
            for a in accounts
        )
    )

    async def all_there() -> bool:
        return all(stack.sms_to(a.secure_phone) for a in accounts)

    await eventually(all_there, what="forty SMS")
    assert all(len(stack.sms_to(a.secure_phone)) == 1 for a in accounts)


async def test_not_5_emails_share_pooled_smtp_connections_and_each_carries_a_date(
    stack: Stack,
) -> None:
    """NOT-5: a burst of twelve emails goes over at most SMTP_POOL_SIZE connections (kept open
    between messages), and every message has the Date: header RFC 5322 requires."""
    accounts = [Account.new() for _ in range(12)]
    before = stack.mail.connections
    await asyncio.gather(
        *(
            stack.publish(
                "notifier.requests",
                NotificationRequested(
                    message_type="verification_code",
                    channel=Channel.EMAIL,
                    destination=a.secure_email,
                    params={"code": "000222", "minutes": "5"},
                ),
                a.id,
            )
            for a in accounts
        )
    )

    async def all_there() -> bool:
        return all(stack.mail_to(a.secure_email) for a in accounts)

    await eventually(all_there, what="twelve emails")
    assert stack.mail.connections - before <= stack.settings.smtp_pool_size
    for a in accounts:
        (mail,) = stack.mail_to(a.secure_email)
        date = email.message_from_bytes(mail.raw)["Date"]
        assert date and parsedate_to_datetime(date).tzinfo is not None


async def test_not_1_a_request_for_a_message_no_service_may_request_is_dead_lettered(
    stack: Stack,
) -> None:
    """NOT-1, SEC-4: a trusted producer may request only one-time codes (and an appeal's
    decision) to a destination it names; a request for any other message (here the
    cancellation notice, to a stranger's phone) is dead-lettered as `not_requestable`,
    at once, and nothing is sent."""
    account = Account.new()
    stranger = "+8613700009999"
    forged = new_envelope(
        NotificationRequested(
            message_type="cancellation_completed",
            channel=Channel.SMS,
            destination=stranger,
            params={"application_id": "x", "at": "now"},
        ),
        producer="identity",
        account_id=account.id,
    )
    await stack.send("notifier.requests", forged)

    async def refused() -> list[ConsumerRecord[bytes, bytes]]:
        return [
            r
            for r in await stack.dead_letters(account.id)
            if dict(r.headers).get("dlq.reason") == b"not_requestable"
        ]

    (letter,) = await eventually(refused, what="the request dead-lettered")
    assert stranger.encode() not in (letter.value or b"")  # scrubbed like every request
    assert await stack.deliveries(account.id) == []
    assert stack.sms_to(stranger) == []
