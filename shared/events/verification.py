"""Events the verification service publishes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from shared.events.envelope import EventPayload
from shared.events.topics import Topic


class RealNameStatus(StrEnum):
    """RN-1: real-name status of an account."""

    UNVERIFIED = "unverified"
    PENDING = "pending"
    VERIFIED = "verified"


class RealNameSubject(StrEnum):
    PERSONAL = "personal"
    ENTERPRISE = "enterprise"


class RealNameChanged(EventPayload):
    """An account's real-name status or subject changed (RN-16)."""

    event_type = "RealNameChanged"
    topic = Topic.VERIFICATION_EVENTS

    status: RealNameStatus = Field(description="New status.", examples=["verified"])
    previous_status: RealNameStatus = Field(description="Status before.", examples=["pending"])
    subject: RealNameSubject | None = Field(
        default=None, description="Personal or enterprise, once verified."
    )
    reason: str | None = Field(
        default=None, description="Why, for a downgrade.", examples=["entity_deregistered"]
    )
    changed_at: datetime = Field(description="When, UTC.")
