"""Verification's event handlers: thin, they hand events to the service layer."""

from __future__ import annotations

from services.verification.service_layer import accounts, billing, enterprise, sub_accounts
from shared.consumer import EventConsumer
from shared.events import (
    BillingStanding,
    PaymentReceived,
    SubAccountAssociated,
    SubAccountCreated,
    owner_of,
)
from shared.runtime import Runtime


def subscribe(consumer: EventConsumer, runtime: Runtime) -> None:
    consumer.handle(
        accounts.register,
        accounts.change_status,
        enterprise.payment_received,
        billing.standing_reported,
        sub_accounts.sub_account_created,
        sub_accounts.sub_account_associated,
    )
    # RN-5: a recharge completes on billing's word only (broker ACLs make the claim true);
    # RN-10: so does a standing.
    consumer.only_from(PaymentReceived, [owner_of(PaymentReceived.topic)])
    consumer.only_from(BillingStanding, [owner_of(BillingStanding.topic)])
    # RN-12: sub-accounts on CAM's word only.
    consumer.only_from(SubAccountCreated, [owner_of(SubAccountCreated.topic)])
    consumer.only_from(SubAccountAssociated, [owner_of(SubAccountAssociated.topic)])
