"""Events the cancellation service publishes."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from shared.events.envelope import EventPayload


class CancellationRequested(EventPayload):
    """An account applied for cancellation and is frozen while cooling off (CAN-4, CAN-5)."""

    event_type = "CancellationRequested"

    application_id: str = Field(description="Id of the application.")
    requested_at: datetime = Field(description="When, UTC.")
    cooling_off_ends_at: datetime = Field(description="When the account will be cancelled.")
