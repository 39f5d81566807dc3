"""Reply bodies of cancellation's HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from services.cancellation.domain.applications import Application, State
from services.cancellation.domain.preconditions import Failed
from services.cancellation.service_layer.operators import ApplicationRecord
from shared.inputs import RequestModel


class ApplicationOut(BaseModel):
    application_id: str
    account_id: str
    state: State = Field(description="cooling_off (open), withdrawn, rejected or completed.")
    requested_at: datetime
    cooling_off_ends_at: datetime = Field(
        description="CAN-5: when the account is cancelled unless withdrawn or rejected."
    )
    ended_at: datetime | None = None
    reasons: list[str] = Field(
        description="Reason codes of a rejection (CAN-6): the failed preconditions' codes, or "
        "OPERATOR_REJECTED."
    )
    operator_reason: str | None = Field(
        None, description="Why an operator rejected the application (reasons OPERATOR_REJECTED)."
    )

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
            operator_reason=a.operator_reason,
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


class ApplicationPageOut(BaseModel):
    applications: list[ApplicationOut] = Field(description="Newest first.")
    next_after: str | None = Field(
        description="Pass as `after` for the next page; null when this page was the last."
    )


class ErasureOut(BaseModel):
    """CAN-7: when each service confirmed erasing the account's data (null: not yet)."""

    identity: datetime | None
    verification: datetime | None
    notifier: datetime | None
    cancellation: datetime | None


class ApplicationRecordOut(ApplicationOut):
    erasure: ErasureOut
    erasure_complete: bool = Field(description="All four services confirmed the erasure.")

    @classmethod
    def of_record(cls, record: ApplicationRecord) -> ApplicationRecordOut:
        return cls(
            **ApplicationOut.of(record.application).model_dump(),
            erasure=ErasureOut(**record.erasure),
            erasure_complete=record.erasure_complete,
        )


class RejectionIn(RequestModel):
    reason: str = Field(
        min_length=1,
        max_length=500,
        description="Why the operator rejects the application; shown to the applicant.",
    )

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("The reason must say something.")
        return value
