"""The notifier's part of cancellation over the real broker, PostgreSQL and Redis, sending to
the real sinks (SMTP mail sink, HTTP SMS sink): the four cancellation notices (CAN-8) and the
erasure after the completion notice (CAN-7), in both orders with identity's tombstone.

One notifier serves most tests (consumer groups take seconds to join); the test of the
erasure's upper bound runs its own, with a bound of seconds. Every test uses its own accounts.
"""

from __future__ import annotations

import contextlib
import itertools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaProducer

from devkit.broker import free_port
from devkit.mailsink import MailSink, ReceivedMail
from devkit.smssink import ReceivedSms, SmsSink
from devkit.testing.infra import Infra, Scope
from devkit.testing.kafka import group_lag, read_all
from devkit.testing.services import running
from devkit.testing.waiting import eventually
from services.notifier.domain.cancellation_reasons import OPERATOR_REJECTED, REASON_WORDS
from services.notifier.domain.erasure import KEPT
from services.notifier.main import spec
from services.notifier.settings import NotifierSettings
from shared.events import (
    REGISTRY,
    AccountContacts,
    AccountStatus,
    AccountStatusChanged,
    CancellationCompleted,
    CancellationRejected,
    CancellationRequested,
    CancellationWithdrawn,
    Envelope,
    EventPayload,
    NotificationFailed,
    NotifierDataErased,
    PasswordChanged,
    decode,
    encode,
    headers_of,
    new_envelope,
)
from shared.masking import mask_email, mask_phone

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 22, 8, 30, tzinfo=UTC)
_numbers = itertools.count(1)


@dataclass(frozen=True)
class Person:
    """An account with four distinct channels, unique within the run (even masked: its own
    phone prefixes and mail domain)."""

    id: str
    secure_phone: str
    secure_email: str
    message_phone: str
    contact_email: str

    @classmethod
    def new(cls) -> Person:
        n = next(_numbers)
        tag = uuid.uuid4().hex[:8]
        last4 = int(tag[:4], 16) % 10000
        return cls(
            id=f"8{n:03d}{int(tag, 16) % 10**8:08d}",
            secure_phone=f"+86166{n:04d}{last4:04d}",
            secure_email=f"secure.{tag}@cancel-{tag}.example.com",
            message_phone=f"+86177{n:04d}{last4:04d}",
            contact_email=f"contact.{tag}@cancel-{tag}.example.com",
        )

    def needles(self) -> list[str]:
        """Every form of its channels that must be gone after the erasure: in clear, the
        national number, and masked."""
        phones = [self.secure_phone, self.message_phone]
        emails = [self.secure_email, self.contact_email]
        return [
            *phones,
            *(p[3:] for p in phones),
            *(mask_phone(p) for p in phones),
            *emails,
            *(mask_email(e) for e in emails),
        ]


@dataclass
class Stack:
    scope: Scope
    settings: NotifierSettings
    sms: SmsSink
    mail: MailSink
    producer: AIOKafkaProducer

    async def publish(
        self, topic: str, payload: EventPayload, account: str, *, producer: str = "cancellation"
    ) -> Envelope[Any]:
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

    async def contacts(self, person: Person, *, language: str = "en") -> None:
        await self.publish(
            "identity.contacts",
            AccountContacts(
                language=language,
                secure_phone=person.secure_phone,
                secure_email=person.secure_email,
                message_phone=person.message_phone,
                contact_email=person.contact_email,
            ),
            person.id,
            producer="identity",
        )

        async def projected() -> object:
            return await self.fetchval("SELECT 1 FROM contacts WHERE account_id = $1", person.id)

        await eventually(projected, what="the contacts projected")

    async def contacts_left(self, person: Person) -> int:
        count: int = await self.fetchval(
            "SELECT count(*) FROM contacts WHERE account_id = $1", person.id
        )
        return count

    async def tombstone(self, person: Person) -> None:
        await self.producer.send_and_wait(
            self.scope.topic("identity.contacts"), value=None, key=person.id.encode()
        )

    async def contacts_consumed(self) -> None:
        """Every record on identity.contacts so far is processed (its offsets committed)."""
        topic = self.scope.topic("identity.contacts")
        group = f"{self.settings.consumer_group}.identity.contacts"

        async def caught_up() -> bool:
            return await group_lag(self.scope.infra.kafka, group, topic) == 0

        await eventually(caught_up, what="identity.contacts consumed")

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

    async def finished(self, account_id: str, source: Envelope[Any]) -> list[asyncpg.Record]:
        """The two deliveries (SMS, email) of one event, once both are finished."""

        async def done() -> list[asyncpg.Record]:
            rows = await self.fetch(
                "SELECT * FROM deliveries WHERE account_id = $1 AND source_event_id = $2 "
                "ORDER BY channel",
                account_id,
                source.event_id,
            )
            ended = [r for r in rows if r["status"] in ("sent", "failed", "skipped")]
            return rows if len(rows) == 2 and len(ended) == 2 else []

        return await eventually(done, what=f"the deliveries of {source.type} finished")

    async def erasure(self, account_id: str) -> asyncpg.Record:
        async def done() -> asyncpg.Record | None:
            rows = await self.fetch(
                "SELECT * FROM erasures WHERE account_id = $1 AND erased_at IS NOT NULL",
                account_id,
            )
            return rows[0] if rows else None

        return await eventually(done, what=f"the erasure of {account_id}")

    async def erased_events(self, account_id: str) -> list[Envelope[Any]]:
        """NotifierDataErased of the account on notifier.events, one per event_id (the relay
        publishes at least once)."""
        records = await read_all(self.scope.infra.kafka, self.scope.topic("notifier.events"))
        found: dict[uuid.UUID, Envelope[Any]] = {}
        for record in records:
            if record.value is None:
                continue
            event = decode(record.value, REGISTRY)
            if event.account_id == account_id and isinstance(event.payload, NotifierDataErased):
                found[event.event_id] = event
        return list(found.values())

    async def outcomes(self, account_id: str) -> list[Envelope[Any]]:
        records = await read_all(self.scope.infra.kafka, self.scope.topic("notifier.events"))
        events = [decode(r.value, REGISTRY) for r in records if r.value is not None]
        return [e for e in events if e.account_id == account_id]

    async def found_anywhere(self, needles: list[str]) -> list[tuple[str, str]]:
        """(table, needle) for every notifier table holding a needle in any column, every
        column cast to text (bytea read as escaped text: the outbox's events are JSON)."""
        tables = await self.fetch(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        )
        found: list[tuple[str, str]] = []
        for (table,) in tables:
            columns = await self.fetch(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'public' AND table_name = $1",
                table,
            )
            as_text = ", ".join(
                f"encode(\"{name}\", 'escape')" if kind == "bytea" else f'"{name}"::text'
                for name, kind in columns
            )
            for needle in needles:
                hits = await self.fetchval(
                    f'SELECT count(*) FROM "{table}" '
                    f"WHERE strpos(lower(concat_ws(' ', {as_text})), lower($1)) > 0",
                    needle,
                )
                if hits:
                    found.append((table, needle))
        return found

    def sms_to(self, phone: str) -> list[ReceivedSms]:
        return [m for m in self.sms.snapshot() if m.phone_number == phone]

    def mail_to(self, address: str) -> list[ReceivedMail]:
        return [m for m in self.mail.snapshot() if address in m.rcpt_to]


@contextlib.asynccontextmanager
async def notifier(infra: Infra, **overrides: Any) -> AsyncIterator[Stack]:
    scope = infra.scope()
    sms = SmsSink().start()
    mail = MailSink(free_port())
    mail.start()
    values: dict[str, Any] = {
        "delivery_max_attempts": 4,
        "delivery_backoff_s": 0.2,
        "delivery_backoff_max_s": 0.5,
        "delivery_contacts_grace_s": 5.0,
        "erasure_recheck_s": 0.2,
        "timer_poll_interval_s": 0.2,
        **overrides,
    }
    settings = scope.settings(NotifierSettings, smtp_port=mail.port, sms_api_url=sms.url, **values)
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka, acks="all")
    await producer.start()
    try:
        async with running(spec(settings)):
            yield Stack(scope, settings, sms, mail, producer)
    finally:
        await producer.stop()
        sms.stop()
        mail.stop()


@pytest.fixture(scope="module")
async def stack(infra: Infra) -> AsyncIterator[Stack]:
    async with notifier(infra, erasure_max_wait_s=120.0) as running_stack:
        yield running_stack


SUBJECTS = {
    "cancellation_requested": {
        "en": "Your account cancellation application was received",
        "zh-CN": "已收到您的账号注销申请",
    },
    "cancellation_withdrawn": {
        "en": "Your account cancellation was withdrawn",
        "zh-CN": "您的账号注销申请已撤回",
    },
    "cancellation_rejected": {
        "en": "Your account cancellation was rejected",
        "zh-CN": "您的账号注销申请未通过",
    },
    "cancellation_completed": {"en": "Your account was cancelled", "zh-CN": "您的账号已注销"},
}
LANGUAGES = ["zh-CN", "en"]


async def told(
    stack: Stack, person: Person, event: Envelope[Any], message_type: str, language: str
) -> tuple[ReceivedSms, ReceivedMail]:
    """SEC-4 for CAN-8: the event's message went, once, as an SMS to the secure phone and an
    email to the secure email, in the account's language; nothing to the contact channels."""
    rows = await stack.finished(person.id, event)
    assert [(r["channel"], r["status"], r["message_type"]) for r in rows] == [
        ("email", "sent", message_type),
        ("sms", "sent", message_type),
    ]
    (sms,) = stack.sms_to(person.secure_phone)
    (mail,) = stack.mail_to(person.secure_email)
    assert sms.template_id == f"{message_type}.{language}"
    assert mail.subject == SUBJECTS[message_type][language]
    assert person.id in sms.content and person.id in mail.text
    assert f'<html lang="{language}">' in mail.html
    assert not stack.sms_to(person.message_phone) and not stack.mail_to(person.contact_email)
    return sms, mail


@pytest.mark.parametrize("language", LANGUAGES)
async def test_can_8_the_application_received_reaches_the_secure_phone_and_the_secure_email(
    stack: Stack, language: str
) -> None:
    """CAN-8, SEC-4: CancellationRequested is told to the secure phone (SMS) and the secure
    email, in zh-CN or en, with the end of the cooling-off period."""
    person = Person.new()
    await stack.contacts(person, language=language)
    event = await stack.publish(
        "cancellation.events",
        CancellationRequested(
            application_id="app-req", requested_at=NOW, cooling_off_ends_at=NOW + timedelta(15)
        ),
        person.id,
    )
    sms, mail = await told(stack, person, event, "cancellation_requested", language)
    assert "2026-12-07 08:30 UTC" in sms.content and "2026-12-07 08:30 UTC" in mail.text
    assert "app-req" in mail.text


@pytest.mark.parametrize("language", LANGUAGES)
async def test_can_8_a_withdrawal_reaches_the_secure_phone_and_the_secure_email(
    stack: Stack, language: str
) -> None:
    """CAN-8, SEC-4: CancellationWithdrawn is told to the secure phone and the secure email."""
    person = Person.new()
    await stack.contacts(person, language=language)
    event = await stack.publish(
        "cancellation.events",
        CancellationWithdrawn(application_id="app-wd", withdrawn_at=NOW),
        person.id,
    )
    _, mail = await told(stack, person, event, "cancellation_withdrawn", language)
    assert "app-wd" in mail.text and "2026-11-22 08:30 UTC" in mail.text


@pytest.mark.parametrize("language", LANGUAGES)
async def test_can_8_a_rejection_reaches_both_secure_channels_with_its_reasons_in_words(
    stack: Stack, language: str
) -> None:
    """CAN-8: CancellationRejected reaches the secure phone and the secure email with every
    reason in the person's language, never as a code."""
    person = Person.new()
    await stack.contacts(person, language=language)
    event = await stack.publish(
        "cancellation.events",
        CancellationRejected(
            application_id="app-rej", reasons=["ARREARS", "VOUCHERS"], rejected_at=NOW
        ),
        person.id,
    )
    sms, mail = await told(stack, person, event, "cancellation_rejected", language)
    for code in ("ARREARS", "VOUCHERS"):
        words = REASON_WORDS[language][code]
        assert words in sms.content and words in mail.text and words in mail.html
        assert code not in sms.content and code not in mail.text


@pytest.mark.parametrize("language", LANGUAGES)
async def test_can_8_an_operators_rejection_shows_the_operators_reason_in_the_email(
    stack: Stack, language: str
) -> None:
    """CAN-8: an operator's rejection shows the operator's reason (free text) in the email,
    escaped in its HTML part, and keeps it out of the SMS."""
    person = Person.new()
    await stack.contacts(person, language=language)
    note = "Invoice <2026-11> is disputed; call us."
    event = await stack.publish(
        "cancellation.events",
        CancellationRejected(
            application_id="app-op",
            reasons=[OPERATOR_REJECTED],
            rejected_at=NOW,
            operator_reason=note,
        ),
        person.id,
    )
    sms, mail = await told(stack, person, event, "cancellation_rejected", language)
    assert note in mail.text and "Invoice &lt;2026-11&gt; is disputed" in mail.html
    assert "Invoice" not in sms.content
    assert REASON_WORDS[language][OPERATOR_REJECTED] in sms.content


@pytest.mark.parametrize("language", LANGUAGES)
async def test_can_8_the_completion_reaches_the_secure_phone_and_the_secure_email(
    stack: Stack, language: str
) -> None:
    """CAN-8: CancellationCompleted is told to the secure phone and the secure email, in the
    person's language, before the notifier erases the channels (CAN-7)."""
    person = Person.new()
    await stack.contacts(person, language=language)
    event = await stack.publish(
        "cancellation.events",
        CancellationCompleted(application_id="app-done", completed_at=NOW),
        person.id,
    )
    sms, mail = await told(stack, person, event, "cancellation_completed", language)
    assert "2026-11-22 08:30 UTC" in sms.content and "app-done" in mail.text
    await stack.erasure(person.id)


async def test_can_7_the_completion_notice_goes_out_first_then_nothing_of_the_person_remains(
    stack: Stack,
) -> None:
    """CAN-7, CAN-8: the completion notice reaches both sinks (its SMS after two transient
    failures) before the erasure, which waits for it; then no notifier table holds the
    person's phones or emails in any form (clear, national number, masked), no Redis key
    names the account, and NotifierDataErased says what is kept."""
    person = Person.new()
    await stack.contacts(person, language="en")
    # Records from before: a security notice, and a billing alert whose SMS fails for good
    # (its record, its NotificationFailed and its dead letter hold the masked phone).
    earlier = await stack.publish(
        "identity.events", PasswordChanged(how="change", at=NOW), person.id, producer="identity"
    )
    stack.sms.fail(None, "invalid_number", phone=person.message_phone)
    frozen = await stack.publish(
        "identity.events",
        AccountStatusChanged(
            status=AccountStatus.FROZEN, frozen_reasons=["overdue"], changed_at=NOW
        ),
        person.id,
        producer="identity",
    )
    await stack.finished(person.id, earlier)
    failed = await stack.finished(person.id, frozen)
    assert [r["status"] for r in failed] == ["sent", "failed"]
    assert failed[1]["destination_masked"] == mask_phone(person.message_phone)

    stack.sms.fail(2, "unavailable", phone=person.secure_phone)
    completed = await stack.publish(
        "cancellation.events",
        CancellationCompleted(application_id="app-erase", completed_at=NOW),
        person.id,
    )
    erasure = await stack.erasure(person.id)
    notice = await stack.finished(person.id, completed)
    assert [(r["channel"], r["status"]) for r in notice] == [("email", "sent"), ("sms", "sent")]
    assert next(r["attempts"] for r in notice if r["channel"] == "sms") == 3
    # The notice was recorded as sent (the sink had taken it) before the erasure ran.
    assert all(r["finished_at"] <= erasure["erased_at"] for r in notice)
    assert erasure["forced"] is False
    sms = [m for m in stack.sms_to(person.secure_phone) if m.template_id.startswith("cancel")]
    assert len(sms) == 1
    assert [m.subject for m in stack.mail_to(person.secure_email)][-1] == (
        "Your account was cancelled"
    )

    assert await stack.found_anywhere(person.needles()) == []
    records = await stack.fetch("SELECT * FROM deliveries WHERE account_id = $1", person.id)
    assert len(records) == 6
    assert {(r["destination"], r["destination_masked"], r["params"]) for r in records} == {
        (None, None, "{}")
    }
    assert {r["status"] for r in records} == {"sent", "failed"}
    redis = aioredis.Redis.from_url(stack.scope.infra.redis_url)
    try:
        keys = [k async for k in redis.scan_iter(match=f"{stack.scope.prefix}*")]
    finally:
        await redis.aclose()
    assert not [k for k in keys if person.id.encode() in k]

    async def confirmed() -> list[Envelope[Any]]:
        return await stack.erased_events(person.id)

    (event,) = await eventually(confirmed, what="NotifierDataErased")
    assert event.payload.service == "notifier"
    assert event.payload.application_id == "app-erase"
    assert event.payload.erased_at == erasure["erased_at"]
    assert event.payload.kept == KEPT
    assert event.causation_id == completed.event_id
    assert event.correlation_id == completed.correlation_id


async def test_can_7_notifier_data_erased_is_emitted_once_under_redelivery(stack: Stack) -> None:
    """CAN-7: the same CancellationCompleted delivered three times (twice before the erasure,
    once after) and a second completion event of the same application erase once and confirm
    once; the late event's notice cannot reach anyone and fails loudly (NOT-3)."""
    person = Person.new()
    await stack.contacts(person)
    completed = new_envelope(
        CancellationCompleted(application_id="app-once", completed_at=NOW),
        producer="cancellation",
        account_id=person.id,
    )
    await stack.send("cancellation.events", completed)
    await stack.send("cancellation.events", completed)
    await stack.erasure(person.id)
    await stack.send("cancellation.events", completed)
    again = await stack.publish(
        "cancellation.events",
        CancellationCompleted(application_id="app-once", completed_at=NOW),
        person.id,
    )
    late = await stack.finished(person.id, again)
    assert [(r["status"], r["last_error"], r["destination_masked"]) for r in late] == [
        ("failed", "account_erased", None),
        ("failed", "account_erased", None),
    ]
    notice = await stack.finished(person.id, completed)
    assert [r["status"] for r in notice] == ["sent", "sent"]
    assert len(stack.sms_to(person.secure_phone)) == 1

    async def late_failures() -> list[Envelope[Any]]:
        events = await stack.outcomes(person.id)
        found = [
            e
            for e in events
            if isinstance(e.payload, NotificationFailed)
            and e.payload.source_event_id == str(again.event_id)
        ]
        return found if len(found) >= 2 else []

    failures = await eventually(late_failures, what="the late notice's NotificationFailed")
    assert {e.payload.destination_masked for e in failures} == {None}
    erased = await stack.erased_events(person.id)
    assert len(erased) == 1
    rows = await stack.fetchval(
        "SELECT count(*) FROM outbox WHERE key = $1 AND headers->>'event_type' = $2",
        person.id,
        "NotifierDataErased",
    )
    assert rows == 1
    assert await stack.found_anywhere(person.needles()) == []


async def test_can_7_a_tombstone_before_the_completion_still_lets_the_notice_out(
    stack: Stack,
) -> None:
    """CAN-7, CAN-8: identity's tombstone arrives before CancellationCompleted: the channels
    stay (marked) so the completion notice reaches both sinks; the erasure then deletes them,
    and a contacts record that arrives after it is ignored."""
    person = Person.new()
    await stack.contacts(person)
    await stack.tombstone(person)

    async def marked() -> object:
        return await stack.fetchval(
            "SELECT tombstoned_at FROM contacts WHERE account_id = $1", person.id
        )

    await eventually(marked, what="the contacts marked tombstoned")
    completed = await stack.publish(
        "cancellation.events",
        CancellationCompleted(application_id="app-tomb", completed_at=NOW),
        person.id,
    )
    erasure = await stack.erasure(person.id)
    notice = await stack.finished(person.id, completed)
    assert [r["status"] for r in notice] == ["sent", "sent"]
    assert len(stack.sms_to(person.secure_phone)) == 1
    assert len(stack.mail_to(person.secure_email)) == 1
    assert erasure["application_id"] == "app-tomb" and erasure["forced"] is False

    await stack.publish(
        "identity.contacts",
        AccountContacts(
            language="en",
            secure_phone=person.secure_phone,
            secure_email=None,
            message_phone=None,
            contact_email=None,
        ),
        person.id,
        producer="identity",
    )
    await stack.contacts_consumed()
    assert (
        await stack.fetchval("SELECT count(*) FROM contacts WHERE account_id = $1", person.id) == 0
    )

    async def confirmed() -> list[Envelope[Any]]:
        return await stack.erased_events(person.id)

    assert len(await eventually(confirmed, what="NotifierDataErased")) == 1
    assert await stack.found_anywhere(person.needles()) == []


async def test_can_7_a_tombstone_after_the_erasure_changes_nothing(stack: Stack) -> None:
    """CAN-7: identity's tombstone arrives after the notifier erased the account: a no-op (no
    row comes back, no second confirmation)."""
    person = Person.new()
    await stack.contacts(person)
    await stack.publish(
        "cancellation.events",
        CancellationCompleted(application_id="app-late-tomb", completed_at=NOW),
        person.id,
    )
    before = await stack.erasure(person.id)
    await stack.tombstone(person)
    await stack.contacts_consumed()
    after = await stack.erasure(person.id)
    assert dict(after) == dict(before)
    assert (
        await stack.fetchval("SELECT count(*) FROM contacts WHERE account_id = $1", person.id) == 0
    )

    async def confirmed() -> list[Envelope[Any]]:
        return await stack.erased_events(person.id)

    assert len(await eventually(confirmed, what="NotifierDataErased")) == 1


@pytest.fixture(scope="module")
async def bounded(infra: Infra) -> AsyncIterator[Stack]:
    """A notifier whose erasures wait 3 s at most, and whose deliveries retry for long."""
    async with notifier(
        infra, erasure_max_wait_s=3.0, delivery_max_attempts=1000, delivery_backoff_max_s=0.3
    ) as running_stack:
        yield running_stack


async def test_can_7_the_erasure_proceeds_after_its_bound_when_a_delivery_keeps_failing(
    bounded: Stack,
) -> None:
    """CAN-7: the completion SMS keeps failing (the provider is down for this phone, retries
    left): the erasure waits only until its bound (ERASURE_MAX_WAIT_S), then erases anyway;
    the pending SMS fails `account_erased` without its destination (NotificationFailed, NOT-3)
    while the email was sent, and NotifierDataErased is emitted once."""
    stack = bounded
    person = Person.new()
    await stack.contacts(person)
    stack.sms.fail(None, "unavailable", phone=person.secure_phone)
    completed = await stack.publish(
        "cancellation.events",
        CancellationCompleted(application_id="app-bound", completed_at=NOW),
        person.id,
    )
    erasure = await stack.erasure(person.id)
    assert erasure["forced"] is True
    assert erasure["erased_at"] >= erasure["erase_by"]
    notice = await stack.finished(person.id, completed)
    email, sms = notice
    assert email["status"] == "sent" and len(stack.mail_to(person.secure_email)) == 1
    assert sms["status"] == "failed" and sms["last_error"] == "account_erased"
    assert sms["attempts"] >= 2 and sms["finished_at"] == erasure["erased_at"]
    assert not stack.sms_to(person.secure_phone)

    async def sms_failed() -> list[Envelope[Any]]:
        events = await stack.outcomes(person.id)
        return [e for e in events if isinstance(e.payload, NotificationFailed)]

    (failure,) = await eventually(sms_failed, what="NotificationFailed of the SMS")
    assert failure.payload.reason == "account_erased"
    assert failure.payload.destination_masked is None

    async def confirmed() -> list[Envelope[Any]]:
        return await stack.erased_events(person.id)

    assert len(await eventually(confirmed, what="NotifierDataErased")) == 1
    assert (
        await stack.fetchval("SELECT count(*) FROM contacts WHERE account_id = $1", person.id) == 0
    )
    # The phone never reached the sink: the last forms of it that could remain are the
    # unsent outbox rows, and those are outcome events without a destination.
    assert await stack.found_anywhere(person.needles()) == []


async def test_can_7_a_tombstone_without_a_completion_erases_at_the_bound_and_confirms_later(
    bounded: Stack,
) -> None:
    """CAN-7: identity's tombstone and no CancellationCompleted (yet): the channels are
    erased at the bound anyway, unconfirmed (no application to name); the completion that
    arrives afterwards confirms once, and its notice, which can no longer reach anyone,
    fails loudly (NOT-3) instead of bringing a destination back."""
    stack = bounded
    person = Person.new()
    await stack.contacts(person)
    await stack.tombstone(person)
    erasure = await stack.erasure(person.id)
    assert erasure["application_id"] is None and erasure["confirmed_at"] is None
    assert erasure["erased_at"] >= erasure["erase_by"]
    assert await stack.contacts_left(person) == 0

    completed = await stack.publish(
        "cancellation.events",
        CancellationCompleted(application_id="app-after", completed_at=NOW),
        person.id,
    )
    notice = await stack.finished(person.id, completed)
    assert [(r["status"], r["last_error"]) for r in notice] == [
        ("failed", "account_erased"),
        ("failed", "account_erased"),
    ]

    async def confirmed() -> list[Envelope[Any]]:
        return await stack.erased_events(person.id)

    (event,) = await eventually(confirmed, what="NotifierDataErased")
    assert event.payload.application_id == "app-after"
    assert event.payload.erased_at == erasure["erased_at"]
    assert not stack.sms_to(person.secure_phone) and not stack.mail_to(person.secure_email)
    assert await stack.found_anywhere(person.needles()) == []
