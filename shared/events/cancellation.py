"""Events the cancellation service publishes."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from shared.events.envelope import EventPayload
from shared.events.topics import Topic


class CancellationRequested(EventPayload):
    """An account applied for cancellation and is frozen while cooling off (CAN-4, CAN-5)."""

    event_type = "CancellationRequested"
    topic = Topic.CANCELLATION_EVENTS

    application_id: str = Field(description="Id of the application.")
    requested_at: datetime = Field(description="When, UTC.")
    cooling_off_ends_at: datetime = Field(description="When the account will be cancelled.")


class CancellationWithdrawn(EventPayload):
    """The applicant withdrew during cooling-off; the account is unfrozen (CAN-5)."""

    event_type = "CancellationWithdrawn"
    topic = Topic.CANCELLATION_EVENTS

    application_id: str = Field(description="Id of the application.")
    withdrawn_at: datetime = Field(description="When, UTC.")


class CancellationRejected(EventPayload):
    """A precondition broke during cooling-off; the application ends (CAN-6)."""

    event_type = "CancellationRejected"
    topic = Topic.CANCELLATION_EVENTS

    application_id: str = Field(description="Id of the application.")
    reasons: list[str] = Field(
        description="Reason codes of the broken preconditions (the codes of GET "
        "/v1/cancellation/preconditions), or OPERATOR_REJECTED.",
        examples=[["ARREARS"]],
    )
    rejected_at: datetime = Field(description="When, UTC.")
    operator_reason: str | None = Field(
        default=None,
        max_length=500,
        description="An operator's reason, shown to the applicant, when an operator rejected "
        "the application (reasons = [OPERATOR_REJECTED]); null otherwise.",
    )


class CancellationCompleted(EventPayload):
    """The account is cancelled: it can no longer log in and its data is erased (CAN-7)."""

    event_type = "CancellationCompleted"
    topic = Topic.CANCELLATION_EVENTS

    application_id: str = Field(description="Id of the application.")
    completed_at: datetime = Field(description="When, UTC.")
