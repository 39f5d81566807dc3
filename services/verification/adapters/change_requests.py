"""RN-11: the enterprise changes under review (one under review per account)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.exc
from sqlalchemy.ext.asyncio import AsyncConnection

from services.verification.adapters.tables import change_requests
from services.verification.domain.change_requests import ChangeKind, ChangeState
from shared.secret_box import Sealed


@dataclass(frozen=True)
class NewChangeRequest:
    account_id: str
    kind: ChangeKind
    name: str
    uscc: str
    legal_person_name_masked: str
    legal_person_region: str
    legal_person_document_masked: str | None
    sealed: Sealed | None
    previous: dict[str, Any]
    submitted_at: datetime
    review_due_at: datetime


@dataclass(frozen=True)
class ChangeRequest(NewChangeRequest):
    id: int
    state: ChangeState
    escalated_at: datetime | None
    decided_at: datetime | None
    decided_by: str | None
    decision_reason: str | None


class AlreadyUnderReview(Exception):
    """The account has a change under review already."""


def _request(row: Any) -> ChangeRequest:
    return ChangeRequest(
        id=row.id,
        account_id=row.account_id,
        kind=ChangeKind(row.kind),
        state=ChangeState(row.state),
        name=row.name,
        uscc=row.uscc,
        legal_person_name_masked=row.legal_person_name_masked,
        legal_person_region=row.legal_person_region,
        legal_person_document_masked=row.legal_person_document_masked,
        sealed=Sealed(row.key_id, row.sealed) if row.sealed is not None else None,
        previous=dict(row.previous),
        submitted_at=row.submitted_at,
        review_due_at=row.review_due_at,
        escalated_at=row.escalated_at,
        decided_at=row.decided_at,
        decided_by=row.decided_by,
        decision_reason=row.decision_reason,
    )


class ChangeRequests:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add(self, new: NewChangeRequest) -> int:
        try:
            async with self.conn.begin_nested():
                request_id = (
                    await self.conn.execute(
                        change_requests.insert()
                        .values(
                            account_id=new.account_id,
                            kind=new.kind.value,
                            state=ChangeState.UNDER_REVIEW.value,
                            name=new.name,
                            uscc=new.uscc,
                            legal_person_name_masked=new.legal_person_name_masked,
                            legal_person_region=new.legal_person_region,
                            legal_person_document_masked=new.legal_person_document_masked,
                            sealed=new.sealed.ciphertext if new.sealed else None,
                            key_id=new.sealed.key_id if new.sealed else None,
                            previous=new.previous,
                            submitted_at=new.submitted_at,
                            review_due_at=new.review_due_at,
                        )
                        .returning(change_requests.c.id)
                    )
                ).scalar_one()
        except sqlalchemy.exc.IntegrityError:
            raise AlreadyUnderReview() from None
        return int(request_id)

    async def get(self, request_id: int, *, for_update: bool = False) -> ChangeRequest | None:
        query = sa.select(change_requests).where(change_requests.c.id == request_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.conn.execute(query)).one_or_none()
        return _request(row) if row is not None else None

    async def under_review_of(
        self, account_id: str, *, for_update: bool = False
    ) -> ChangeRequest | None:
        query = sa.select(change_requests).where(
            change_requests.c.account_id == account_id,
            change_requests.c.state == ChangeState.UNDER_REVIEW.value,
        )
        if for_update:
            query = query.with_for_update()
        row = (await self.conn.execute(query)).one_or_none()
        return _request(row) if row is not None else None

    async def of_account(self, account_id: str, *, limit: int) -> list[ChangeRequest]:
        rows = await self.conn.execute(
            sa.select(change_requests)
            .where(change_requests.c.account_id == account_id)
            .order_by(change_requests.c.id.desc())
            .limit(limit)
        )
        return [_request(r) for r in rows]

    async def in_state(
        self, state: ChangeState, *, after_id: int, limit: int
    ) -> list[ChangeRequest]:
        """Oldest first (the review queue), paged by id."""
        rows = await self.conn.execute(
            sa.select(change_requests)
            .where(change_requests.c.state == state.value, change_requests.c.id > after_id)
            .order_by(change_requests.c.id)
            .limit(limit)
        )
        return [_request(r) for r in rows]

    async def decide(
        self,
        request_id: int,
        state: ChangeState,
        *,
        at: datetime,
        by: str | None,
        reason: str | None,
    ) -> None:
        await self.conn.execute(
            change_requests.update()
            .where(change_requests.c.id == request_id)
            .values(state=state.value, decided_at=at, decided_by=by, decision_reason=reason)
        )

    async def escalate(self, request_id: int, *, at: datetime) -> bool:
        result = await self.conn.execute(
            change_requests.update()
            .where(
                change_requests.c.id == request_id,
                change_requests.c.state == ChangeState.UNDER_REVIEW.value,
                change_requests.c.escalated_at.is_(None),
            )
            .values(escalated_at=at)
        )
        return bool(result.rowcount)
