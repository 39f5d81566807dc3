"""The events identity publishes about an account, built from its stored row."""

from __future__ import annotations

from typing import Any

from services.identity.service_layer.context import PRODUCER
from shared.events import AccountContacts, EventPayload, Topic, new_envelope
from shared.unit_of_work import UnitOfWork


async def emit(uow: UnitOfWork, account_id: int | str, payload: EventPayload) -> None:
    """An identity.events event about the account, through the outbox."""
    await uow.emit(
        Topic.IDENTITY_EVENTS,
        new_envelope(payload, producer=PRODUCER, account_id=str(account_id), occurred_at=uow.now()),
    )


async def publish_contacts(uow: UnitOfWork, account: Any) -> None:
    """The account's channels as they are now: the notifier's routing record (SEC-4)."""
    await uow.emit(
        Topic.IDENTITY_CONTACTS,
        new_envelope(
            AccountContacts(
                secure_phone=account.secure_phone,
                secure_email=account.secure_email,
                message_phone=account.message_phone,
                contact_email=account.contact_email,
                language=account.language,
            ),
            producer=PRODUCER,
            account_id=str(account.account_id),
            occurred_at=uow.now(),
        ),
    )
