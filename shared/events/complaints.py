"""Facts the complaints system publishes on complaints.events (EXT): not our producer.

Opening and closing a case are told as the account's standing after the change (the case
appears in `open_cases`, or leaves it), not as separate events: a consumer that missed one
message would otherwise hold a case open, or closed, for ever.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from shared.events.facts import Reference, Standing
from shared.events.topics import Topic


class CaseKind(StrEnum):
    """CAN-2 names both: pending complaints and pending reports."""

    COMPLAINT = "complaint"
    REPORT = "report"


class OpenCase(BaseModel):
    """One complaint or report involving the account that is not closed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    case_id: Reference = Field(description="The complaints system's id of the case.")
    kind: CaseKind = Field(description="complaint or report.", examples=["complaint"])
    opened_at: AwareDatetime = Field(description="When it was opened, with its time zone.")


class ComplaintsStanding(Standing):
    """The complaints and reports involving one account that are still open (CAN-2)."""

    event_type = "ComplaintsStanding"
    topic = Topic.COMPLAINTS_EVENTS

    open_cases: list[OpenCase] = Field(
        max_length=1000,
        description="Every open case, filed by the account or against it; empty when none. "
        "An opened case appears here, a closed one leaves.",
        examples=[
            [],
            [{"case_id": "C-7781", "kind": "complaint", "opened_at": "2026-11-20T09:00:00Z"}],
        ],
    )

    @model_validator(mode="after")
    def _each_case_once(self) -> Self:
        ids = [case.case_id for case in self.open_cases]
        if len(set(ids)) != len(ids):
            raise ValueError("open_cases: each case_id at most once")
        return self
