"""Reply bodies of cancellation's HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from services.cancellation.domain.applications import Application, State
from services.cancellation.domain.preconditions import Failed


class ApplicationOut(BaseModel):
    application_id: str
    account_id: str
    state: State = Field(description="cooling_off (open), withdrawn, rejected or completed.")
    requested_at: datetime
    cooling_off_ends_at: datetime = Field(
        description="CAN-5: when the account is cancelled unless withdrawn or rejected."
    )
    ended_at: datetime | None = None
    reasons: list[str] = Field(description="Reason codes of a rejection (CAN-6).")

    @classmethod
    def of(cls, a: Application) -> ApplicationOut:
        return cls(
            application_id=a.application_id,
            account_id=a.account_id,
            state=a.state,
            requested_at=a.requested_at,
            cooling_off_ends_at=a.cooling_off_ends_at,
            ended_at=a.ended_at,
            reasons=list(a.reasons),
        )


class ReasonOut(BaseModel):
    code: str = Field(description="Reason code (README: Reason codes).")
    message: str
    details: dict[str, Any]


class PreconditionsOut(BaseModel):
    may_apply: bool = Field(description="Whether every precondition holds now.")
    reasons: list[ReasonOut] = Field(description="Every failed precondition, each once.")

    @classmethod
    def of(cls, failed: list[Failed]) -> PreconditionsOut:
        return cls(
            may_apply=not failed,
            reasons=[
                ReasonOut(code=f.reason.value, message=f.message, details=f.details) for f in failed
            ],
        )
