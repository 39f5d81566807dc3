"""Dead letters of deliveries (NOT-3): `notifier.requests.dlq`, written through the outbox.

A delivery that fails for good (a permanent refusal, retries exhausted, no destination)
commits, in one transaction, its `failed` status, a `NotificationFailed` event and one record
here: the delivery as it was (destination masked, one-time codes scrubbed) and the reason,
with the same `dlq.*` headers as the consumers' dead letters (`dlq.reason=delivery_failed`,
`dlq.consumer=notifier.dispatcher`). The topic is the notifier's one place for "could not be
delivered": it already holds the requests its consumer could not read. An operator can
redrive a delivery from the original event (its `source_event_id`), still on its topic.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from shared.events import Channel, Envelope, EventPayload, Topic, encode, headers_of, new_envelope
from shared.events.topics import dlq_name
from shared.outbox import outbox_table
from shared.unit_of_work import UnitOfWork

DEAD_LETTER_TOPIC = dlq_name(Topic.NOTIFIER_REQUESTS)
CONSUMER = "notifier.dispatcher"


class DeliveryDeadLettered(EventPayload):
    """A delivery that could not be made, as it stood when it failed."""

    event_type = "DeliveryDeadLettered"
    precedes_account = True  # a code sent before the account exists can fail too

    delivery_id: str = Field(description="Id of the delivery record.")
    source_event_id: str = Field(description="event_id of the event the message was for.")
    message_type: str = Field(description="Template.", examples=["verification_code"])
    category: str = Field(description="SEC-4 category.", examples=["security"])
    channel: Channel = Field(description="Delivery channel.")
    destination_masked: str | None = Field(default=None, description="Destination, masked.")
    language: str | None = Field(default=None, description="Template language.")
    params: dict[str, str] = Field(description="Template parameters, secrets scrubbed.")
    attempts: int = Field(description="Tries made.")
    reason: str = Field(description="Why it failed.", examples=["permanent: SMS invalid_number"])
    failed_at: datetime = Field(description="When, UTC.")


async def dead_letter(
    uow: UnitOfWork,
    record: DeliveryDeadLettered,
    *,
    account_id: str,
    correlation_id: uuid.UUID | None = None,
    event_id: uuid.UUID | None = None,
) -> None:
    """Queue the record for `notifier.requests.dlq` in the caller's transaction (with
    `event_id` when the caller derives it)."""
    envelope: Envelope[DeliveryDeadLettered] = new_envelope(
        record,
        producer="notifier",
        account_id=account_id,
        occurred_at=record.failed_at,
        correlation_id=correlation_id,
        causation_id=uuid.UUID(record.source_event_id),
    )
    if event_id is not None:
        envelope = envelope.model_copy(update={"event_id": event_id})
    headers = {k: v.decode() for k, v in headers_of(envelope)}
    headers.update(
        {
            "dlq.reason": "delivery_failed",
            "dlq.error": record.reason[:4000],
            "dlq.consumer": CONSUMER,
            "dlq.failed_at": record.failed_at.isoformat(),
            "dlq.delivery_id": record.delivery_id,
        }
    )
    await uow.conn.execute(
        outbox_table.insert().values(
            event_id=envelope.event_id,
            topic=uow.topic(DEAD_LETTER_TOPIC),
            key=account_id,
            value=encode(envelope),
            headers=headers,
        )
    )
