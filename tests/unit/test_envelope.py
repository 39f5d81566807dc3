"""The envelope and its wire format."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from shared.events import (
    REGISTRY,
    AccountRegistered,
    InvalidEvent,
    LoginMethodKind,
    UndecodableEvent,
    UnknownEventType,
    decode,
    encode,
    headers_of,
    is_account_id,
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
    assert dict(headers_of(envelope))["correlation_id"] == str(envelope.correlation_id).encode()


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


def contacts_event(**payload: object) -> dict[str, object]:
    from shared.events import AccountContacts

    snapshot = AccountContacts(
        secure_phone="+8618112341234",
        secure_email="a@example.com",
        message_phone=None,
        contact_email=None,
        language="en",
    )
    data: dict[str, object] = json.loads(
        encode(new_envelope(snapshot, producer="identity", account_id="100000000001"))
    )
    data["payload"] = payload
    return data


def test_sec_4_a_contacts_snapshot_with_a_misspelt_field_is_refused_not_blanked() -> None:
    """SEC-4: `secure_phon` is no field of the snapshot, and `secure_phone` is missing: the
    record is refused instead of read as "no secure phone"."""
    data = contacts_event(
        secure_phon="+8618112341234",
        secure_email=None,
        message_phone=None,
        contact_email=None,
        language="en",
    )
    with pytest.raises(InvalidEvent) as err:
        decode(json.dumps(data).encode(), REGISTRY)
    message = str(err.value)
    assert "payload.secure_phone: Field required" in message
    assert "payload.secure_phon: Extra inputs are not permitted" in message
    assert "8618112341234" not in message
    assert err.value.reason == "invalid"


def test_a_snapshot_says_null_for_a_channel_it_does_not_have() -> None:
    data = contacts_event(
        secure_phone="+8618112341234", secure_email=None, message_phone=None, language="en"
    )  # contact_email left out: absent is not the same as "none"
    with pytest.raises(InvalidEvent, match=r"payload\.contact_email: Field required"):
        decode(json.dumps(data).encode(), REGISTRY)


@pytest.mark.parametrize("account_id", ["", "0", "012", "abc", "1e9", " 1", "1" * 20, "-1"])
def test_acc_1_an_account_id_that_is_not_one_is_refused(account_id: str) -> None:
    """ACC-1: account IDs are decimal numbers without leading zeros."""
    data = json.loads(encode(new_envelope(registered(), producer="identity", account_id="1")))
    data["account_id"] = account_id
    with pytest.raises(InvalidEvent, match="account_id"):
        decode(json.dumps(data).encode(), REGISTRY)
    assert not is_account_id(account_id)


def test_open_contracts_ignore_fields_they_do_not_know_yet() -> None:
    """A notice is open: a producer may add an optional field before its consumers learn it,
    and unknown envelope fields are ignored too."""
    data = json.loads(encode(new_envelope(registered(), producer="identity", account_id="1")))
    data["payload"]["referrer"] = "campaign-7"
    data["trace_parent"] = "00-abc-01"
    assert decode(json.dumps(data).encode(), REGISTRY).payload == registered()


def test_code_3_a_notification_request_with_an_unknown_field_is_refused() -> None:
    """NotificationRequested is closed: the notifier owns it, so an unknown field is a
    mistake (a misspelt `params` would otherwise send a message without its code)."""
    from shared.events import Channel, NotificationRequested

    request = NotificationRequested(
        message_type="verification_code", channel=Channel.SMS, destination="+8618112341234"
    )
    data = json.loads(encode(new_envelope(request, producer="identity", account_id="1")))
    data["payload"]["parms"] = {"code": "482913"}
    with pytest.raises(InvalidEvent, match=r"payload\.parms: Extra inputs") as err:
        decode(json.dumps(data).encode(), REGISTRY)
    assert "482913" not in str(err.value)


def test_only_a_request_may_come_before_the_account_exists() -> None:
    """A registration code is requested before there is an account: its envelope names none;
    any other event without an account is refused."""
    from shared.events import Channel, NotificationRequested

    request = NotificationRequested(
        message_type="verification_code", channel=Channel.EMAIL, destination="a@example.com"
    )
    assert decode(encode(new_envelope(request, producer="identity", account_id="")), REGISTRY)
    assert not is_account_id("")
