"""Typed subscriptions and scrubbed dead letters: the consumer's pure parts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.consumer import handled_types, scrub
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


def test_topics_without_secrets_are_dead_lettered_byte_for_byte() -> None:
    raw = encode(
        new_envelope(
            AccountRegistered(registered_at=datetime.now(UTC), method=LoginMethodKind.QQ),
            producer="identity",
            account_id="100000000001",
        )
    )
    assert scrub(raw, AccountRegistered.secret_fields) == (raw, "")
