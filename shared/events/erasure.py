"""Erasure confirmations (CAN-7, ARCHITECTURE "Erasure").

`CancellationCompleted` makes every service erase what it holds of the person; each confirms
on its own topic (topics are per owner) with an `AccountDataErased` event. The registry
holds one type per topic, so the four confirmations are four types with one shape: the base
`AccountDataErased` (a consumer may match on it) and one subclass per service.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from shared.events.envelope import EventPayload
from shared.events.topics import Topic


class AccountDataErased(EventPayload):
    """Base of the erasure confirmations: a service erased the cancelled account's personal
    data (CAN-7). Not an event type itself: each service publishes its own subclass."""

    service: str = Field(description="The service that erased its data.", examples=["identity"])
    application_id: str = Field(
        description="The cancellation application whose completion asked for the erasure."
    )
    erased_at: datetime = Field(description="When, UTC.")
    kept: list[str] = Field(
        default_factory=list,
        description="What the service keeps for audit (no email, phone or ID number), "
        "as named in its README.",
        examples=[["account id", "status history"]],
    )


class IdentityDataErased(AccountDataErased):
    """Identity erased the account's login methods, contacts, sessions, devices and MFA."""

    event_type = "IdentityDataErased"
    topic = Topic.IDENTITY_EVENTS


class VerificationDataErased(AccountDataErased):
    """Verification erased the account's real-name data and released its quota places."""

    event_type = "VerificationDataErased"
    topic = Topic.VERIFICATION_EVENTS


class NotifierDataErased(AccountDataErased):
    """The notifier erased the account's channels and delivery destinations (after sending
    the completion notice)."""

    event_type = "NotifierDataErased"
    topic = Topic.NOTIFIER_EVENTS


class CancellationDataErased(AccountDataErased):
    """Cancellation erased the facts it projected of the account; the application stays."""

    event_type = "CancellationDataErased"
    topic = Topic.CANCELLATION_EVENTS


ERASURE_CONFIRMATIONS: tuple[type[AccountDataErased], ...] = (
    IdentityDataErased,
    VerificationDataErased,
    NotifierDataErased,
    CancellationDataErased,
)
