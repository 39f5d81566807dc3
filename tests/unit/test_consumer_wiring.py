"""Typed subscriptions and scrubbed dead letters: the consumer's pure parts."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker

from shared.consumer import EventConsumer, handled_types, scrub
from shared.events import (
    AccountRegistered,
    Channel,
    Envelope,
    LoginMethodBound,
    LoginMethodKind,
    NotificationRequested,
    Topic,
    encode,
    new_envelope,
    payloads_on,
)
from shared.settings import ServiceSettings
from shared.unit_of_work import UnitOfWork

pytestmark = pytest.mark.unit


async def one(uow: UnitOfWork, event: Envelope[AccountRegistered]) -> None: ...


async def two(uow: UnitOfWork, event: Envelope[AccountRegistered | LoginMethodBound]) -> None: ...


async def many(uow: UnitOfWork, events: Sequence[Envelope[AccountRegistered]]) -> None: ...


async def untyped(uow: UnitOfWork, event: Envelope[Any]) -> None: ...


def test_a_handler_declares_the_event_types_it_takes_by_its_annotation() -> None:
    assert handled_types(one) == ((AccountRegistered,), False)
    assert handled_types(two) == ((AccountRegistered, LoginMethodBound), False)
    assert handled_types(many) == ((AccountRegistered,), True)
    with pytest.raises(TypeError):
        handled_types(untyped)


def test_each_event_type_declares_its_topic_and_is_registered_by_being_defined() -> None:
    assert AccountRegistered.topic is Topic.IDENTITY_EVENTS
    assert payloads_on(Topic.NOTIFIER_REQUESTS) == [NotificationRequested]


def code_request() -> bytes:
    return encode(
        new_envelope(
            NotificationRequested(
                message_type="verification_code",
                channel=Channel.SMS,
                destination="+8613800138000",
                params={"code": "913724", "minutes": "5"},
            ),
            producer="identity",
            account_id="",
        )
    )


def test_a_dead_lettered_code_request_keeps_its_shape_but_not_its_code_or_destination() -> None:
    raw, scrubbed = scrub(code_request(), NotificationRequested.secret_fields)
    assert raw is not None
    assert b"913724" not in raw and b"13800138000" not in raw
    payload = json.loads(raw)["payload"]
    assert payload["params"] == {"code": "***", "minutes": "***"}
    assert payload["message_type"] == "verification_code"
    assert scrubbed == "payload.destination,payload.params"


def test_unparseable_bytes_of_a_secret_topic_are_not_copied_at_all() -> None:
    assert scrub(b'{"code": "913724"', NotificationRequested.secret_fields) == (b"", "body")


NOW = datetime.now(UTC)


def registered(account_id: str) -> Envelope[Any]:
    return new_envelope(
        AccountRegistered(registered_at=NOW, method=LoginMethodKind.QQ),
        producer="identity",
        account_id=account_id,
    )


def test_topics_without_secrets_are_dead_lettered_byte_for_byte() -> None:
    raw = encode(registered("100000000001"))
    assert scrub(raw, AccountRegistered.secret_fields) == (raw, "")


class FakeUnitOfWork:
    """Claims every event once; the transaction is not the point here."""

    async def __aenter__(self) -> FakeUnitOfWork:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def claim_all(self, consumer: str, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        return set(ids)


def record_of(event: Envelope[Any], offset: int) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        "identity.events", 0, offset, 0, 0, event.account_id.encode(), encode(event), None, 0, 0, []
    )


async def test_what_a_handler_emits_carries_the_consumed_event_as_its_cause() -> None:
    """Traceable events (issue 7 item 5): the consumer wrapper sets the trace per event; a
    batch handler's runs keep the order read."""
    emitted: list[Envelope[Any]] = []
    runs: list[list[str]] = []

    async def react(uow: UnitOfWork, event: Envelope[LoginMethodBound]) -> None:
        emitted.append(new_envelope(event.payload, producer="test", account_id=event.account_id))

    async def project(uow: UnitOfWork, events: Sequence[Envelope[AccountRegistered]]) -> None:
        runs.append([e.account_id for e in events])

    consumer = EventConsumer(
        KafkaBroker(apply_types=False),
        ServiceSettings(),
        unit_of_work=lambda: FakeUnitOfWork(),  # type: ignore[arg-type,return-value]
        producer=lambda: None,  # type: ignore[arg-type,return-value]
    )
    consumer.handle(react, project)
    bound = new_envelope(
        LoginMethodBound(kind=LoginMethodKind.QQ, identifier_masked="o6***", bound_at=NOW),
        producer="identity",
        account_id="100000000003",
    )
    events = [registered("100000000001"), registered("100000000002"), bound]
    events.append(registered("100000000004"))
    records = [record_of(e, i) for i, e in enumerate(events)]
    await consumer.consume(consumer._subscriptions[Topic.IDENTITY_EVENTS], records)
    assert runs == [["100000000001", "100000000002"], ["100000000004"]]
    (reaction,) = emitted
    assert reaction.causation_id == bound.event_id
    assert reaction.correlation_id == bound.correlation_id
