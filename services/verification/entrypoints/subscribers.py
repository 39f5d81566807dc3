"""Verification's event handlers: thin, they hand events to the service layer."""

from __future__ import annotations

from services.verification.service_layer import accounts, billing, enterprise, sub_accounts
from services.verification.service_layer.context import verification_context
from services.verification.service_layer.erasure import erase_account
from shared.consumer import EventConsumer
from shared.events import (
    BillingStanding,
    CancellationCompleted,
    Envelope,
    PaymentReceived,
    SubAccountAssociated,
    SubAccountCreated,
    owner_of,
)
from shared.runtime import Runtime
from shared.unit_of_work import UnitOfWork

CANCELLATION = "cancellation"  # the producer of cancellation.events


def subscribe(consumer: EventConsumer, runtime: Runtime) -> None:
    ctx = verification_context(runtime)

    async def on_cancellation_completed(
        uow: UnitOfWork, event: Envelope[CancellationCompleted]
    ) -> None:
        await erase_account(ctx, uow, event)

    consumer.handle(
        on_cancellation_completed,
        accounts.register,
        accounts.change_status,
        enterprise.payment_received,
        billing.standing_reported,
        sub_accounts.sub_account_created,
        sub_accounts.sub_account_associated,
    )
    # CAN-7: erasure on the cancellation service's word only.
    consumer.only_from(CancellationCompleted, [CANCELLATION])
    # RN-5: a recharge completes on billing's word only (broker ACLs make the claim true);
    # RN-10: so does a standing.
    consumer.only_from(PaymentReceived, [owner_of(PaymentReceived.topic)])
    consumer.only_from(BillingStanding, [owner_of(BillingStanding.topic)])
    # RN-12: sub-accounts on CAM's word only.
    consumer.only_from(SubAccountCreated, [owner_of(SubAccountCreated.topic)])
    consumer.only_from(SubAccountAssociated, [owner_of(SubAccountAssociated.topic)])
