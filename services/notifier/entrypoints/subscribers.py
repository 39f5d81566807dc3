"""Event handlers of the notifier: learn contacts, and queue a delivery per message."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from services.notifier.adapters.tables import contacts, deliveries
from services.notifier.domain.routing import MESSAGE_CATEGORIES
from shared.consumer import EventConsumer
from shared.events import AccountContacts, AccountRegistered, Channel, Envelope, Topic
from shared.runtime import Runtime
from shared.unit_of_work import UnitOfWork


async def on_account_contacts(uow: UnitOfWork, event: Envelope[Any]) -> None:
    payload: AccountContacts = event.payload
    values = {
        "secure_phone": payload.secure_phone,
        "secure_email": payload.secure_email,
        "message_phone": payload.message_phone,
        "contact_email": payload.contact_email,
        "language": payload.language,
        "updated_at": event.occurred_at,
    }
    stmt = postgresql.insert(contacts).values(account_id=event.account_id, **values)
    # Latest value wins, like the compacted topic; an older record never overwrites a newer.
    await uow.conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[contacts.c.account_id],
            set_=values,
            where=contacts.c.updated_at <= stmt.excluded.updated_at,
        )
    )


async def on_contacts_erased(uow: UnitOfWork, account_id: str) -> None:
    await uow.conn.execute(contacts.delete().where(contacts.c.account_id == account_id))


async def queue_delivery(
    uow: UnitOfWork,
    event: Envelope[Any],
    *,
    message_type: str,
    channel: Channel,
    params: dict[str, str],
    destination: str | None = None,
) -> None:
    """One delivery per (event, channel); the unique key makes a repeat a no-op."""
    await uow.conn.execute(
        postgresql.insert(deliveries)
        .values(
            id=uuid.uuid4(),
            source_event_id=event.event_id,
            channel=channel.value,
            message_type=message_type,
            category=MESSAGE_CATEGORIES[message_type].value,
            account_id=event.account_id,
            destination=destination,
            params=params,
            status="queued",
            attempts=0,
            next_attempt_at=sa.func.now(),
            created_at=sa.func.now(),
        )
        .on_conflict_do_nothing(constraint="deliveries_once_per_channel")
    )


async def on_account_registered(uow: UnitOfWork, event: Envelope[Any]) -> None:
    payload: AccountRegistered = event.payload
    await queue_delivery(
        uow,
        event,
        message_type="welcome",
        channel=Channel.EMAIL,
        params={"account_id": event.account_id, "login": payload.email_masked or payload.method},
    )


def subscribe(consumer: EventConsumer, runtime: Runtime) -> None:
    consumer.subscribe(
        Topic.IDENTITY_CONTACTS,
        {AccountContacts.event_type: on_account_contacts},
        on_tombstone=on_contacts_erased,
    )
    consumer.subscribe(Topic.IDENTITY_EVENTS, {AccountRegistered.event_type: on_account_registered})
