"""The notifier's erasure rules (CAN-7), without a database: when an erasure runs, what a
pending delivery becomes at the bound, and the derived ids of outcome events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.notifier.domain.delivery import (
    Delivery,
    DeliveryStatus,
    IllegalTransition,
    outcome_event_id,
)
from services.notifier.domain.erasure import (
    ACCOUNT_ERASED,
    KEPT,
    Erase,
    Recheck,
    decide_erasure,
)
from services.notifier.domain.routing import Category
from services.notifier.service_layer.erasure import outcome_event_ids
from shared.events import Channel
from shared.timers import retry_at

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 22, 8, 30, tzinfo=UTC)
RECHECK = timedelta(seconds=2)
PHONE = "+8618112341234"


def pending(status: DeliveryStatus = DeliveryStatus.QUEUED) -> Delivery:
    return Delivery(
        id=uuid.uuid4(),
        source_event_id=uuid.uuid4(),
        account_id="100000000001",
        message_type="cancellation_completed",
        category=Category.SECURITY,
        channel=Channel.SMS,
        destination=PHONE,
        destination_masked="+86 181****1234",
        language="en",
        params={"account_id": "100000000001", "application_id": "a1", "at": "x"},
        status=status,
        attempts=1,
        next_attempt_at=NOW,
        created_at=NOW,
    )


def test_can_7_the_erasure_runs_as_soon_as_nothing_of_the_account_is_pending() -> None:
    """CAN-7: no delivery or outcome event pending: erase now, not forced."""
    assert decide_erasure(
        pending=0, now=NOW, erase_by=NOW + timedelta(hours=1), recheck=RECHECK
    ) == Erase(forced=False)


def test_can_7_the_erasure_waits_for_pending_deliveries_but_never_past_its_bound() -> None:
    """CAN-7: the completion notice first: while something is pending, look again after the
    recheck interval, never later than the bound; at the bound, erase anyway (forced)."""
    bound = NOW + timedelta(seconds=5)
    assert decide_erasure(pending=2, now=NOW, erase_by=bound, recheck=RECHECK) == Recheck(
        NOW + RECHECK
    )
    almost = bound - timedelta(seconds=1)
    assert decide_erasure(pending=1, now=almost, erase_by=bound, recheck=RECHECK) == Recheck(bound)
    assert decide_erasure(pending=1, now=bound, erase_by=bound, recheck=RECHECK) == Erase(
        forced=True
    )


@pytest.mark.parametrize("status", [DeliveryStatus.QUEUED, DeliveryStatus.SENDING])
def test_can_7_a_delivery_pending_at_the_bound_fails_keeping_no_destination(
    status: DeliveryStatus,
) -> None:
    """CAN-7, NOT-3: pending at the bound, a delivery fails `account_erased` for good and
    keeps neither its destination (not even masked) nor its parameters; its claim is gone,
    so a sender's late outcome is not recorded."""
    d = pending(status)
    if status is DeliveryStatus.SENDING:
        d.claim_token = uuid.uuid4()
        d.lease_until = NOW + timedelta(seconds=60)
    d.fail_erased(NOW, ACCOUNT_ERASED)
    assert (d.status, d.last_error, d.finished_at) == (DeliveryStatus.FAILED, ACCOUNT_ERASED, NOW)
    assert (d.destination, d.destination_masked, d.params) == (None, None, {})
    assert d.claim_token is None and d.lease_until is None
    with pytest.raises(IllegalTransition):
        d.fail_erased(NOW, ACCOUNT_ERASED)


def test_can_7_outcome_events_have_ids_derived_from_their_delivery() -> None:
    """The erasure finds a delivery's outcome events in the outbox by id: the same delivery
    and type give the same id; other deliveries or types, other ids."""
    first, second = uuid.uuid4(), uuid.uuid4()
    assert outcome_event_id(first, "NotificationSent") == outcome_event_id(
        first, "NotificationSent"
    )
    ids = outcome_event_ids([first, second])
    assert len(ids) == len(set(ids)) == 6
    assert outcome_event_id(first, "NotificationSent") in ids


def test_can_7_what_the_notifier_keeps_names_no_destination() -> None:
    """NotifierDataErased.kept (and the README) promise no destination, masked or not."""
    assert any("no destination" in item for item in KEPT)


def test_a_failed_erasure_is_retried_later_with_a_capped_backoff() -> None:
    """The erasure is a shared timer: an effect that failed is due again after the shared
    backoff (TIMER_RETRY_BACKOFF_S, doubling, at most 10 minutes)."""
    base = timedelta(seconds=1)
    assert retry_at(NOW, 1, base) == NOW + base
    assert retry_at(NOW, 3, base) == NOW + 4 * base
    assert retry_at(NOW, 40, base) == NOW + timedelta(minutes=10)
