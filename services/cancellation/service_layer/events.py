"""The events cancellation publishes about an account, through the outbox."""

from __future__ import annotations

from shared.events import EventPayload, Topic, new_envelope
from shared.unit_of_work import UnitOfWork

PRODUCER = "cancellation"


async def emit(uow: UnitOfWork, account_id: str, payload: EventPayload) -> None:
    """A cancellation.events event about the account, through the outbox."""
    await uow.emit(
        Topic.CANCELLATION_EVENTS,
        new_envelope(payload, producer=PRODUCER, account_id=account_id, occurred_at=uow.now()),
    )
