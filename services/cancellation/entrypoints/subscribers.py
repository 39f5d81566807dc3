"""Event handlers of cancellation: they turn events into changes of the local projection."""

from __future__ import annotations

from collections.abc import Sequence

from services.cancellation.adapters.tables import accounts
from shared.consumer import EventConsumer
from shared.events import AccountRegistered, Envelope
from shared.runtime import Runtime
from shared.unit_of_work import UnitOfWork


async def on_accounts_registered(
    uow: UnitOfWork, events: Sequence[Envelope[AccountRegistered]]
) -> None:
    """A run of registrations, one INSERT for all (a batch handler: one statement, not one
    round trip per event). A plain insert: the inbox, not the statement, makes redelivery
    harmless."""
    await uow.conn.execute(
        accounts.insert(),
        [
            {
                "account_id": event.account_id,
                "registered_at": event.payload.registered_at,
                "registration_method": event.payload.method.value,
            }
            for event in events
        ],
    )


def subscribe(consumer: EventConsumer, runtime: Runtime) -> None:
    consumer.handle(on_accounts_registered)
