"""Identity's event handlers: account status from cancellation and verification (ACC-3)."""

from __future__ import annotations

from typing import Any

from services.identity.adapters import repository as repo
from services.identity.service_layer.accounts import apply_status
from services.identity.service_layer.context import identity_context
from shared.consumer import EventConsumer
from shared.events import (
    CancellationCompleted,
    CancellationRejected,
    CancellationRequested,
    CancellationWithdrawn,
    Envelope,
    RealNameChanged,
    Topic,
)
from shared.runtime import Runtime
from shared.unit_of_work import UnitOfWork

PENDING = "pending_cancellation"


def subscribe(consumer: EventConsumer, runtime: Runtime) -> None:
    ctx = identity_context(runtime)

    async def on_cancellation_requested(uow: UnitOfWork, event: Envelope[Any]) -> None:
        await apply_status(ctx, uow, int(event.account_id), add=PENDING)

    async def on_cancellation_ended(uow: UnitOfWork, event: Envelope[Any]) -> None:
        await apply_status(ctx, uow, int(event.account_id), remove=PENDING)

    async def on_cancellation_completed(uow: UnitOfWork, event: Envelope[Any]) -> None:
        await apply_status(ctx, uow, int(event.account_id), remove=PENDING, cancel=True)

    async def on_real_name_changed(uow: UnitOfWork, event: Envelope[Any]) -> None:
        payload: RealNameChanged = event.payload
        await repo.update_account(
            uow.conn, int(event.account_id), real_name_status=payload.status.value
        )

    consumer.subscribe(
        Topic.CANCELLATION_EVENTS,
        {
            CancellationRequested.event_type: on_cancellation_requested,
            CancellationWithdrawn.event_type: on_cancellation_ended,
            CancellationRejected.event_type: on_cancellation_ended,
            CancellationCompleted.event_type: on_cancellation_completed,
        },
    )
    consumer.subscribe(
        Topic.VERIFICATION_EVENTS, {RealNameChanged.event_type: on_real_name_changed}
    )
