"""The envelope and its wire format."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from shared.events import (
    REGISTRY,
    AccountRegistered,
    LoginMethodKind,
    UndecodableEvent,
    UnknownEventType,
    decode,
    encode,
    headers_of,
    new_envelope,
)

pytestmark = pytest.mark.unit


def registered() -> AccountRegistered:
    return AccountRegistered(
        registered_at=datetime(2026, 1, 2, tzinfo=UTC),
        method=LoginMethodKind.EMAIL,
        email_masked="a***@example.com",
    )


def test_an_event_survives_the_wire_with_its_envelope() -> None:
    envelope = new_envelope(registered(), producer="identity", account_id="100000000001")
    back = decode(encode(envelope), REGISTRY)
    assert back == envelope
    assert isinstance(back.payload, AccountRegistered)
    assert dict(headers_of(envelope))["event_type"] == b"AccountRegistered"


def test_a_caused_event_keeps_the_correlation_and_names_its_cause() -> None:
    cause = new_envelope(registered(), producer="identity", account_id="1")
    effect = new_envelope(registered(), producer="notifier", account_id="1", causation=cause)
    assert effect.correlation_id == cause.correlation_id
    assert effect.causation_id == cause.event_id
    assert effect.event_id != cause.event_id


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"\xff\xfe", b"[1, 2]", b'{"type": "AccountRegistered"}', b"null"],
)
def test_bytes_that_are_no_event_are_undecodable(raw: bytes) -> None:
    with pytest.raises(UndecodableEvent):
        decode(raw, REGISTRY)


def test_a_known_type_with_a_bad_payload_is_undecodable() -> None:
    data = json.loads(encode(new_envelope(registered(), producer="identity", account_id="1")))
    data["payload"]["method"] = "telephone"
    with pytest.raises(UndecodableEvent, match="AccountRegistered v1"):
        decode(json.dumps(data).encode(), REGISTRY)


def test_an_unknown_type_is_told_apart_from_garbage() -> None:
    data = json.loads(encode(new_envelope(registered(), producer="identity", account_id="1")))
    data["type"] = "SomethingNew"
    with pytest.raises(UnknownEventType):
        decode(json.dumps(data).encode(), REGISTRY)


def test_code_3_an_invalid_event_is_described_without_its_values() -> None:
    """CODE-3 / no PII in logs: the error names fields, not the code or the destination."""
    from shared.events import Channel, NotificationRequested

    request = NotificationRequested(
        message_type="verification_code",
        channel=Channel.SMS,
        destination="+8618112341234",
        params={"code": "482913"},
    )
    data = json.loads(encode(new_envelope(request, producer="identity", account_id="1")))
    data["payload"]["channel"] = "pigeon-482913"
    data["payload"]["language"] = ["+8618112341234"]
    with pytest.raises(UndecodableEvent) as err:
        decode(json.dumps(data).encode(), REGISTRY)
    message = str(err.value)
    assert "payload.channel" in message and "payload.language" in message
    assert "482913" not in message and "8618112341234" not in message
