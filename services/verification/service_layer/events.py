"""The events verification publishes about an account, through the outbox (RN-16)."""

from __future__ import annotations

from services.verification.domain.status import Change
from services.verification.service_layer.context import PRODUCER
from shared.events import (
    DocumentRegion,
    EventPayload,
    RealNameChanged,
    RealNameStatus,
    RealNameVerified,
    Topic,
    new_envelope,
)
from shared.unit_of_work import UnitOfWork


async def emit(uow: UnitOfWork, account_id: str, payload: EventPayload) -> None:
    """A verification.events event about the account, through the outbox."""
    await uow.emit(
        Topic.VERIFICATION_EVENTS,
        new_envelope(payload, producer=PRODUCER, account_id=account_id, occurred_at=uow.now()),
    )


def changed(change: Change) -> RealNameChanged:
    """RealNameChanged: the status every other service acts on (RN-14)."""
    return RealNameChanged(
        status=change.status,
        previous_status=change.previous,
        subject=change.subject if change.status is not RealNameStatus.UNVERIFIED else None,
        reason=None if change.proves else change.reason.value,
        changed_at=change.at,
    )


def verified(
    change: Change, region: DocumentRegion | None, change_id: int | None = None
) -> RealNameVerified:
    """RealNameVerified: how the real name was proven (`change_id`: by the approval of that
    reviewed enterprise change, RN-11)."""
    assert change.subject is not None and change.method is not None
    return RealNameVerified(
        subject=change.subject,
        method=change.method,
        region=region,
        verified_at=change.at,
        change_id=change_id,
    )
