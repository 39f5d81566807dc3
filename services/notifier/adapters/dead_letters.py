"""Dead letters of deliveries (NOT-3): `notifier.deliveries.dlq`, written through the outbox.

A delivery that fails for good (a permanent refusal, retries exhausted, no destination)
commits, in one transaction, its `failed` status, a `NotificationFailed` event and one record
here: the delivery as it was (destination masked, one-time codes scrubbed) and the reason,
with the same `dlq.*` headers as the consumers' dead-letter topics. An operator can redrive
it from the original event (its `source_event_id`), which is still on its topic.
"""

from __future__ import annotations

import contextlib
from datetime import datetime

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from pydantic import Field

from shared.events import Channel, Envelope, EventPayload, encode, headers_of, new_envelope
from shared.outbox import outbox_table
from shared.settings import ServiceSettings
from shared.unit_of_work import UnitOfWork

DELIVERIES_DLQ = "notifier.deliveries.dlq"
CONSUMER = "notifier.dispatcher"


class DeliveryDeadLettered(EventPayload):
    """A delivery that could not be made, as it stood when it failed."""

    event_type = "DeliveryDeadLettered"

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
    uow: UnitOfWork, record: DeliveryDeadLettered, *, account_id: str, topic_prefix: str
) -> None:
    """Queue the record for `notifier.deliveries.dlq` in the caller's transaction."""
    envelope: Envelope[DeliveryDeadLettered] = new_envelope(
        record, producer="notifier", account_id=account_id
    )
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
            topic=f"{topic_prefix}{DELIVERIES_DLQ}",
            key=account_id,
            value=encode(envelope),
            headers=headers,
        )
    )


async def ensure_dead_letter_topic(settings: ServiceSettings) -> None:
    """Create the topic if missing (services create the topics they use)."""
    name = f"{settings.kafka_topic_prefix}{DELIVERIES_DLQ}"
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap_servers, client_id=settings.service_name
    )
    await admin.start()
    try:
        if name not in set(await admin.list_topics()):
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics([NewTopic(name, 1, settings.kafka_replication_factor)])
    finally:
        await admin.close()
