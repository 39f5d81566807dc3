"""Contracts enforced by the notifier over the real broker and PostgreSQL: a message that
breaks its contract is parked in `<topic>.dlq` with the reason, and nothing it names is
changed.

One notifier serves the module (consumer groups take seconds to join); every test uses its
own accounts.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord

from devkit.smssink import SmsSink
from devkit.testing.infra import Infra, Scope
from devkit.testing.kafka import read_all
from devkit.testing.services import running
from devkit.testing.waiting import eventually
from services.notifier.main import spec
from services.notifier.settings import NotifierSettings
from shared.events import (
    REGISTRY,
    AccountContacts,
    Channel,
    EventPayload,
    NotificationRequested,
    NotificationSent,
    decode,
    encode,
    headers_of,
    new_envelope,
)

pytestmark = pytest.mark.integration

CONTACTS = "identity.contacts"
_numbers = itertools.count(1)


def new_account() -> str:
    return f"61{next(_numbers):010d}"


@dataclass
class Notifier:
    scope: Scope
    settings: NotifierSettings
    producer: AIOKafkaProducer

    async def send(
        self, topic: str, value: bytes | None, key: str, headers: list[tuple[str, bytes]]
    ) -> None:
        await self.producer.send_and_wait(
            self.scope.topic(topic), value=value, key=key.encode(), headers=headers
        )

    async def publish(
        self, topic: str, payload: EventPayload, account_id: str, *, producer: str = "identity"
    ) -> bytes:
        envelope = new_envelope(payload, producer=producer, account_id=account_id)
        await self.send(topic, encode(envelope), account_id, headers_of(envelope))
        return encode(envelope)

    async def tampered(self, topic: str, event: EventPayload, key: str, **edit: Any) -> bytes:
        """Publish an event whose JSON was edited after encoding (as a foreign or buggy
        producer would write it); returns the bytes sent."""
        envelope = new_envelope(event, producer="identity", account_id=key)
        data = json.loads(encode(envelope))
        for key, value in edit.items():
            if key == "payload":
                data["payload"] = value
            else:
                data[key] = value
        raw = json.dumps(data).encode()
        await self.send(topic, raw, key, headers_of(envelope))
        return raw

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        conn = await asyncpg.connect(
            f"{self.scope.infra.postgres_dsn}/{self.settings.database_name}"
        )
        try:
            return await conn.fetchrow(sql, *args)
        finally:
            await conn.close()

    async def contacts_of(self, account_id: str) -> asyncpg.Record | None:
        return await self.fetchrow("SELECT * FROM contacts WHERE account_id = $1", account_id)

    async def dead_letter(self, topic: str, value: bytes) -> ConsumerRecord[bytes, bytes]:
        async def parked() -> list[ConsumerRecord[bytes, bytes]]:
            records = await read_all(self.scope.infra.kafka, self.scope.topic(topic) + ".dlq")
            return [r for r in records if r.value == value]

        (record, *_) = await eventually(parked, what=f"the message parked in {topic}.dlq")
        return record


@pytest.fixture(scope="module")
async def notifier(infra: Infra) -> AsyncIterator[Notifier]:
    scope = infra.scope()
    sms = SmsSink().start()
    settings = scope.settings(NotifierSettings, sms_api_url=sms.url)
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka, acks="all")
    await producer.start()
    try:
        async with running(spec(settings)):
            yield Notifier(scope, settings, producer)
    finally:
        await producer.stop()
        sms.stop()


def contacts(phone: str | None = "+8618100000001") -> AccountContacts:
    return AccountContacts(
        secure_phone=phone,
        secure_email="secure@example.com",
        message_phone=None,
        contact_email=None,
        language="en",
    )


async def test_sec_4_a_misspelt_contacts_field_is_dead_lettered_and_the_secure_phone_kept(
    notifier: Notifier,
) -> None:
    """SEC-4: `{"secure_phon": ...}` used to be read as "no secure phone" and blanked the
    account's secure phone in the notifier. Now it is refused with the reason, and the
    phone the notifier knows stays."""
    account = new_account()
    await notifier.publish(CONTACTS, contacts("+8618100000001"), account)

    async def learnt() -> object:
        return await notifier.contacts_of(account)

    await eventually(learnt, what="the contacts learnt")
    typo = await notifier.tampered(
        CONTACTS,
        contacts(),
        account,
        payload={
            "secure_phon": "+8618199999999",
            "secure_email": "secure@example.com",
            "message_phone": None,
            "contact_email": None,
            "language": "en",
        },
    )
    record = await notifier.dead_letter(CONTACTS, typo)
    headers = dict(record.headers)
    assert headers["dlq.reason"] == b"invalid"
    error = headers["dlq.error"].decode()
    assert "payload.secure_phone: Field required" in error
    assert "payload.secure_phon: Extra inputs are not permitted" in error
    assert "8618199999999" not in error  # fields and problems, never values
    assert headers["event_type"] == b"AccountContacts"  # the original headers travel along

    # The consumer moved past it: a later record of the account is applied, and until then
    # the phone was the one learnt first.
    row = await notifier.contacts_of(account)
    assert row is not None and row["secure_phone"] == "+8618100000001"
    await notifier.publish(CONTACTS, contacts("+8618100000002"), account)

    async def changed() -> object:
        row = await notifier.contacts_of(account)
        return row is not None and row["secure_phone"] == "+8618100000002"

    await eventually(changed, what="the next valid record applied")


async def test_acc_1_an_event_whose_account_id_is_not_one_is_dead_lettered(
    notifier: Notifier,
) -> None:
    """ACC-1: the account ID is a decimal number; `acct-42` is refused, not projected."""
    bad = await notifier.tampered(CONTACTS, contacts(), "1", account_id="acct-42")
    record = await notifier.dead_letter(CONTACTS, bad)
    assert dict(record.headers)["dlq.reason"] == b"invalid"
    assert b"account_id" in dict(record.headers)["dlq.error"]
    assert await notifier.contacts_of("acct-42") is None


async def test_reg_3_a_code_sent_before_the_account_exists_is_delivered_and_reported(
    notifier: Notifier,
) -> None:
    """REG-3: a registration code names no account (envelope account_id ""); it is delivered
    and its NotificationSent, which names no account either, is published. Every other
    event must name one."""
    request = NotificationRequested(
        message_type="verification_code",
        channel=Channel.SMS,
        destination="+8613900000991",
        params={"code": "123456", "minutes": "5"},
    )
    await notifier.publish("notifier.requests", request, "")

    async def reported() -> list[object]:
        records = await read_all(
            notifier.scope.infra.kafka, notifier.scope.topic("notifier.events")
        )
        events = [decode(r.value, REGISTRY) for r in records if r.value is not None]
        return [e for e in events if isinstance(e.payload, NotificationSent) and e.account_id == ""]

    await eventually(reported, what="the code's NotificationSent")
    row = await notifier.fetchrow("SELECT status FROM deliveries WHERE account_id = ''")
    assert row is not None and row["status"] == "sent"


def code_request(phone: str) -> NotificationRequested:
    return NotificationRequested(
        message_type="verification_code",
        channel=Channel.SMS,
        destination=phone,
        params={"code": "654321", "minutes": "5"},
    )


async def test_an_event_of_an_unknown_type_or_version_is_parked_not_forgotten(
    notifier: Notifier,
) -> None:
    """A type no release of ours defines, or a version of a known type we do not read yet
    (a newer producer), is dead-lettered as `unknown_type`: it can be replayed once the
    consumer knows it, instead of being acknowledged and lost."""
    account = new_account()
    newer = await notifier.tampered(CONTACTS, contacts(), account, version=2)
    stranger = await notifier.tampered(CONTACTS, contacts(), account, type="ContactsMerged")
    for raw in (newer, stranger):
        record = await notifier.dead_letter(CONTACTS, raw)
        headers = dict(record.headers)
        assert headers["dlq.reason"] == b"unknown_type"
        assert headers["dlq.source.topic"] == notifier.scope.topic(CONTACTS).encode()
    assert (
        b"AccountContacts v2"
        in dict((await notifier.dead_letter(CONTACTS, newer)).headers)["dlq.error"]
    )
    assert await notifier.contacts_of(account) is None  # neither was applied


async def test_a_notification_request_from_an_untrusted_producer_is_dead_lettered(
    notifier: Notifier,
) -> None:
    """Only identity (TRUSTED_PRODUCERS) may ask for a message: a request that says it comes
    from billing is parked with the reason, nothing is queued or sent, and its code and
    destination are scrubbed from the dead letter; the same request from identity goes."""
    account = new_account()
    forged = await notifier.publish(
        "notifier.requests", code_request("+8613900000992"), account, producer="billing"
    )

    async def parked() -> list[ConsumerRecord[bytes, bytes]]:
        records = await read_all(
            notifier.scope.infra.kafka, notifier.scope.topic("notifier.requests.dlq")
        )
        return [r for r in records if r.key == account.encode()]

    (record,) = await eventually(parked, what="the forged request parked")
    headers = dict(record.headers)
    assert headers["dlq.reason"] == b"untrusted_producer"
    assert b"'billing'" in headers["dlq.error"] and b"identity" in headers["dlq.error"]
    assert b"654321" not in record.value and b"8613900000992" not in record.value
    assert record.value != forged

    await notifier.publish("notifier.requests", code_request("+8613900000993"), account)

    async def sent() -> asyncpg.Record | None:
        row = await notifier.fetchrow(
            "SELECT status, destination_masked FROM deliveries WHERE account_id = $1", account
        )
        return row if row is not None and row["status"] == "sent" else None

    row = await eventually(sent, what="identity's request delivered")
    assert row["destination_masked"].endswith("0993")
    deliveries = await notifier.fetchrow(
        "SELECT count(*) AS n FROM deliveries WHERE account_id = $1", account
    )
    assert deliveries is not None and deliveries["n"] == 1  # the forged one never queued


async def test_acc_1_a_tombstone_whose_key_is_not_an_account_id_is_dead_lettered(
    notifier: Notifier,
) -> None:
    """ACC-1: a tombstone erases what the notifier keeps of its key, so the key must be an
    account ID; `*` is parked as invalid, and a real account's tombstone still takes effect
    (it marks the contacts for the notifier's erasure, CAN-7)."""
    account = new_account()
    await notifier.publish(CONTACTS, contacts(), account)

    async def learnt() -> object:
        return await notifier.contacts_of(account)

    await eventually(learnt, what="the contacts learnt")
    await notifier.send(CONTACTS, None, "*", [])

    async def parked() -> list[ConsumerRecord[bytes, bytes]]:
        records = await read_all(
            notifier.scope.infra.kafka, notifier.scope.topic(CONTACTS) + ".dlq"
        )
        return [r for r in records if r.key == b"*"]

    (record,) = await eventually(parked, what="the bad tombstone parked")
    assert dict(record.headers)["dlq.reason"] == b"invalid"
    assert record.value is None
    await notifier.send(CONTACTS, None, account, [])

    async def marked() -> bool:
        row = await notifier.contacts_of(account)
        return row is not None and row["tombstoned_at"] is not None

    await eventually(marked, what="the account's contacts marked for erasure")
