"""Cancellation's event handlers: thin, they hand events to the service layer."""

from __future__ import annotations

from services.cancellation.service_layer import erasure, projections
from shared.consumer import EventConsumer
from shared.events import (
    BillingStanding,
    CamStanding,
    ComplaintsStanding,
    ResourcesStanding,
    SubAccountAssociated,
    SubAccountCreated,
    owner_of,
)
from shared.runtime import Runtime

# EXT: each fact counts on its producer's word only (broker ACLs make the claim true).
FACTS = (
    BillingStanding,
    ResourcesStanding,
    CamStanding,
    ComplaintsStanding,
    SubAccountCreated,
    SubAccountAssociated,
)


def subscribe(consumer: EventConsumer, runtime: Runtime) -> None:
    consumer.handle(
        projections.register,
        projections.change_status,
        projections.standing_reported,
        projections.sub_account_linked,
        erasure.erasure_confirmed,
    )
    for fact in FACTS:
        consumer.only_from(fact, [owner_of(fact.topic)])
    # CAN-7: each erasure confirmation counts from the service that owns the data only.
    for confirmation, owner in erasure.CONFIRMED_BY.items():
        consumer.only_from(confirmation, [owner])
