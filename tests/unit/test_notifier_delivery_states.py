"""The delivery's state machine (NOT-3), without a database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.notifier.domain.catalogue import SECRET_MASK
from services.notifier.domain.delivery import Delivery, DeliveryStatus, IllegalTransition
from services.notifier.domain.routing import Category
from shared.events import Channel

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 22, 8, 30, tzinfo=UTC)
LEASE = timedelta(seconds=60)
PHONE = "+8618112341234"


def queued(**changes: object) -> Delivery:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "source_event_id": uuid.uuid4(),
        "account_id": "100000000001",
        "message_type": "verification_code",
        "category": Category.SECURITY,
        "channel": Channel.SMS,
        "destination": PHONE,
        "destination_masked": None,
        "language": "en",
        "params": {"code": "123456", "minutes": "5"},
        "status": DeliveryStatus.QUEUED,
        "attempts": 0,
        "next_attempt_at": NOW,
        "created_at": NOW,
    }
    values.update(changes)
    return Delivery(**values)  # type: ignore[arg-type]


def test_not_3_a_claim_leases_the_delivery_with_a_fresh_token_and_counts_the_attempt() -> None:
    d = queued()
    token = d.claim(NOW, destination=PHONE, language="en", lease=LEASE)
    assert (d.status, d.attempts, d.lease_until, d.claim_token) == (
        DeliveryStatus.SENDING,
        1,
        NOW + LEASE,
        token,
    )
    assert d.destination_masked == "+86 181****1234"
    with pytest.raises(IllegalTransition):
        d.claim(NOW, destination=PHONE, language="en", lease=LEASE)  # still leased


def test_not_3_an_expired_lease_can_be_claimed_again_with_a_new_token() -> None:
    d = queued()
    first = d.claim(NOW, destination=PHONE, language="en", lease=LEASE)
    later = NOW + LEASE
    assert d.is_due(later)
    second = d.claim(later, destination=PHONE, language="en", lease=LEASE)
    assert second != first and d.attempts == 2


def test_not_3_sent_keeps_only_the_masked_destination_and_scrubs_the_code() -> None:
    d = queued()
    d.claim(NOW, destination=PHONE, language="en", lease=LEASE)
    d.sent(NOW, "serial-1")
    assert d.status is DeliveryStatus.SENT and d.status.finished
    assert (d.destination, d.destination_masked) == (None, "+86 181****1234")
    assert d.params["code"] == SECRET_MASK
    assert (d.lease_until, d.claim_token, d.provider_ref) == (None, None, "serial-1")


def test_not_3_a_retry_goes_back_to_the_queue_after_the_backoff_with_the_error_redacted() -> None:
    d = queued()
    d.claim(NOW, destination=PHONE, language="en", lease=LEASE)
    d.retry(NOW, 2.0, f"throttled {PHONE}")
    assert d.status is DeliveryStatus.QUEUED
    assert d.next_attempt_at == NOW + timedelta(seconds=2)
    assert d.last_error == "throttled +86 181****1234"
    assert not d.is_due(NOW) and d.is_due(NOW + timedelta(seconds=2))


def test_not_3_only_a_delivery_being_sent_can_be_sent_or_retried() -> None:
    d = queued()
    with pytest.raises(IllegalTransition):
        d.sent(NOW, None)
    with pytest.raises(IllegalTransition):
        d.retry(NOW, 1.0, "x")


def test_not_3_a_finished_delivery_does_not_move_again() -> None:
    d = queued()
    assert d.fail(NOW, f"permanent: {PHONE} invalid") == "permanent: +86 181****1234 invalid"
    assert d.status is DeliveryStatus.FAILED and d.params["code"] == SECRET_MASK
    for move in (
        lambda: d.fail(NOW, "again"),
        lambda: d.skip(NOW, "x"),
        lambda: d.claim(NOW, destination=PHONE, language=None, lease=LEASE),
        lambda: d.wait(NOW, NOW),
    ):
        with pytest.raises(IllegalTransition):
            move()


def test_sec_4_a_missing_channel_is_skipped_and_waiting_moves_the_due_time() -> None:
    d = queued(destination=None, message_type="password_changed", params={})
    d.wait(NOW, NOW + timedelta(seconds=1))
    assert d.status is DeliveryStatus.QUEUED and not d.is_due(NOW)
    later = NOW + timedelta(seconds=1)
    d.skip(later, "no_sms_destination")
    assert (d.status, d.last_error, d.finished_at) == (
        DeliveryStatus.SKIPPED,
        "no_sms_destination",
        later,
    )
