"""A delivery failed for good (NOT-3): its `NotificationFailed` and its dead letter, in the
caller's transaction. The courier records them for failures; the erasure for the deliveries
still pending at its bound. Their event ids derive from the delivery (`outcome_event_id`)."""

from __future__ import annotations

from services.notifier.adapters.dead_letters import DeliveryDeadLettered, dead_letter
from services.notifier.domain.delivery import Delivery, outcome_event_id
from shared.events import NotificationFailed, Topic, new_envelope
from shared.logging import get_logger
from shared.unit_of_work import UnitOfWork

log = get_logger(__name__)
PRODUCER = "notifier"


async def record_failure(uow: UnitOfWork, d: Delivery) -> None:
    """NotificationFailed and a dead letter for a delivery just failed for good."""
    assert d.finished_at is not None and d.last_error is not None
    envelope = new_envelope(
        NotificationFailed(
            source_event_id=str(d.source_event_id),
            message_type=d.message_type,
            channel=d.channel,
            destination_masked=d.destination_masked,
            attempts=d.attempts,
            reason=d.last_error,
            failed_at=d.finished_at,
        ),
        producer=PRODUCER,
        account_id=d.account_id,
        occurred_at=d.finished_at,
        correlation_id=d.correlation_id,
        causation_id=d.source_event_id,
    )
    event_id = outcome_event_id(d.id, NotificationFailed.event_type)
    await uow.emit(Topic.NOTIFIER_EVENTS, envelope.model_copy(update={"event_id": event_id}))
    await dead_letter(
        uow,
        DeliveryDeadLettered(
            delivery_id=str(d.id),
            source_event_id=str(d.source_event_id),
            message_type=d.message_type,
            category=d.category.value,
            channel=d.channel,
            destination_masked=d.destination_masked,
            language=d.language,
            params=d.params,
            attempts=d.attempts,
            reason=d.last_error,
            failed_at=d.finished_at,
        ),
        account_id=d.account_id,
        correlation_id=d.correlation_id,
        event_id=outcome_event_id(d.id, DeliveryDeadLettered.event_type),
    )
    log.warning(
        "delivery_failed",
        delivery=str(d.id),
        type=d.message_type,
        channel=d.channel.value,
        attempts=d.attempts,
        reason=d.last_error,
    )
