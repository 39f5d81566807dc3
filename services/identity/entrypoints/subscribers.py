"""Identity's event handlers: account status from cancellation and verification (ACC-3), and
the erasure a completed cancellation asks for (CAN-7)."""

from __future__ import annotations

from services.identity.service_layer.accounts import apply_status
from services.identity.service_layer.context import context_of
from services.identity.service_layer.erasure import complete_cancellation
from shared.consumer import EventConsumer
from shared.events import (
    CancellationCompleted,
    CancellationRejected,
    CancellationRequested,
    CancellationWithdrawn,
    Envelope,
    RealNameChanged,
)
from shared.runtime import Runtime
from shared.unit_of_work import UnitOfWork

PENDING = "pending_cancellation"


def subscribe(consumer: EventConsumer, runtime: Runtime) -> None:
    ctx = context_of(runtime)

    async def on_cancellation_requested(
        uow: UnitOfWork, event: Envelope[CancellationRequested]
    ) -> None:
        await apply_status(ctx, uow, int(event.account_id), add=PENDING)

    async def on_cancellation_ended(
        uow: UnitOfWork, event: Envelope[CancellationWithdrawn | CancellationRejected]
    ) -> None:
        await apply_status(ctx, uow, int(event.account_id), remove=PENDING)

    async def on_cancellation_completed(
        uow: UnitOfWork, event: Envelope[CancellationCompleted]
    ) -> None:
        await complete_cancellation(ctx, uow, int(event.account_id), event.payload.application_id)

    async def on_real_name_changed(uow: UnitOfWork, event: Envelope[RealNameChanged]) -> None:
        payload = event.payload
        await ctx.repo.update_account(
            uow.conn, int(event.account_id), real_name_status=payload.status.value
        )

    consumer.handle(
        on_cancellation_requested,
        on_cancellation_ended,
        on_cancellation_completed,
        on_real_name_changed,
    )
