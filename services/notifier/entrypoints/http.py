"""HTTP API of the notifier: the operators' audit of delivery records (NOT-4)."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from services.notifier.domain.delivery import DeliveryStatus
from services.notifier.service_layer.audit import DeliveryQuery, list_deliveries
from shared.errors import error_responses
from shared.events import Channel
from shared.inputs import CleanText, IsoDateTime
from shared.operators import Operator, require_operator
from shared.runtime import Runtime, get_runtime

router = APIRouter(
    prefix="/v1/operator", tags=["operator"], responses=error_responses(401, 413, 422, 503)
)


class DeliveryRecord(BaseModel):
    """One delivery: one message of one event on one channel."""

    id: uuid.UUID = Field(description="Delivery id; also the idempotency key sent to providers.")
    source_event_id: uuid.UUID = Field(description="event_id of the event the message is for.")
    account_id: str = Field(description="Account the message is about.")
    message_type: str = Field(description="Template.", examples=["welcome"])
    category: str = Field(description="SEC-4 category.", examples=["security"])
    channel: Channel = Field(description="sms or email.")
    destination_masked: str | None = Field(
        description="Destination, masked; null until it is resolved.",
        examples=["+86 181****1234", "a***@example.com"],
    )
    language: str | None = Field(description="Template language.", examples=["en"])
    status: DeliveryStatus = Field(description="queued, sending, sent, failed or skipped.")
    attempts: int = Field(description="Tries so far.")
    last_error: str | None = Field(description="Latest failure or skip reason.")
    created_at: datetime = Field(description="When it was queued, UTC.")
    finished_at: datetime | None = Field(description="When it was sent, failed or skipped.")


class DeliveryList(BaseModel):
    deliveries: list[DeliveryRecord]
    count: int = Field(description="Records in this reply (at most `limit`).")


@router.get("/deliveries", response_model=DeliveryList)
async def get_deliveries(
    account_id: CleanText | None = Query(
        default=None, max_length=32, description="Only this account's records."
    ),
    message_type: CleanText | None = Query(
        default=None, max_length=64, description="Only this message type."
    ),
    status: DeliveryStatus | None = Query(default=None, description="Only records in this status."),
    since: IsoDateTime | None = Query(default=None, description="Queued at or after (ISO 8601)."),
    until: IsoDateTime | None = Query(default=None, description="Queued before (ISO 8601)."),
    limit: int = Query(default=100, ge=1, le=1000, description="Most records returned."),
    operator: Operator = Depends(require_operator),
    runtime: Runtime = Depends(get_runtime),
) -> DeliveryList:
    """Delivery records, newest first, destinations masked. Needs the operator credential."""
    rows = await list_deliveries(
        runtime,
        DeliveryQuery(
            account_id=account_id,
            message_type=message_type,
            status=status,
            since=since,
            until=until,
            limit=limit,
        ),
    )
    records = [DeliveryRecord.model_validate(row) for row in rows]
    return DeliveryList(deliveries=records, count=len(records))
