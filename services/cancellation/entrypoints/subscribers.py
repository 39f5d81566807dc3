"""Event handlers of cancellation: each turns one event into a change of the local projection."""

from __future__ import annotations

from services.cancellation.adapters.tables import accounts
from shared.consumer import EventConsumer
from shared.events import AccountRegistered, Envelope
from shared.runtime import Runtime
from shared.unit_of_work import UnitOfWork


async def on_account_registered(uow: UnitOfWork, event: Envelope[AccountRegistered]) -> None:
    payload = event.payload
    # A plain insert: the inbox, not the statement, makes redelivery harmless.
    await uow.conn.execute(
        accounts.insert().values(
            account_id=event.account_id,
            registered_at=payload.registered_at,
            registration_method=payload.method.value,
        )
    )


def subscribe(consumer: EventConsumer, runtime: Runtime) -> None:
    consumer.handle(on_account_registered)
