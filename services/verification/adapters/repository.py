"""Storage of accounts, real names and their history; errors of storage become domain ones.

One class per aggregate, bound to the unit of work's connection; no rule runs here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.verification.adapters.tables import (
    accounts,
    personal_identities,
    real_name_history,
    real_names,
)
from services.verification.domain.accounts import Account
from services.verification.domain.status import Change, RealName, Reason
from shared.events import AccountStatus, RealNameMethod, RealNameStatus, RealNameSubject
from shared.secret_box import Sealed


@dataclass(frozen=True)
class HistoryEntry:
    """One stored change (details masked)."""

    at: datetime
    previous_status: RealNameStatus
    status: RealNameStatus
    subject: RealNameSubject | None
    method: RealNameMethod | None
    reason: str
    details: dict[str, Any]


@dataclass(frozen=True)
class PersonalIdentity:
    """The stored person of an account: masked forms in clear, the rest sealed."""

    account_id: str
    region: str
    document_kind: str
    name_masked: str
    document_masked: str
    sealed: Sealed
    fingerprint: str
    verified_at: datetime


@dataclass(frozen=True)
class Registration:
    account_id: str
    registered_at: datetime
    method: str


class Accounts:
    """The projection of identity's accounts."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add(self, registrations: Sequence[Registration]) -> None:
        """New accounts, unverified. A plain insert: the inbox, not the statement, makes
        redelivery harmless (a second registration of one id is a failure: two accounts
        would share it)."""
        await self.conn.execute(
            accounts.insert(),
            [
                {
                    "account_id": r.account_id,
                    "registered_at": r.registered_at,
                    "registration_method": r.method,
                }
                for r in registrations
            ],
        )
        await self.conn.execute(
            real_names.insert(),
            [
                {"account_id": r.account_id, "status": "unverified", "updated_at": r.registered_at}
                for r in registrations
            ],
        )

    async def get(self, account_id: str) -> Account | None:
        row = (
            await self.conn.execute(sa.select(accounts).where(accounts.c.account_id == account_id))
        ).one_or_none()
        if row is None:
            return None
        return Account(
            account_id=row.account_id,
            registered_at=row.registered_at,
            status=AccountStatus(row.status),
            frozen_reasons=tuple(row.frozen_reasons),
            status_changed_at=row.status_changed_at,
        )

    async def set_status(
        self, account_id: str, status: AccountStatus, reasons: Sequence[str], at: datetime
    ) -> bool:
        """Project a status unless a newer one is already there, and never out of
        `cancelled` (ACC-3: a cancelled account stays cancelled). False if nothing changed."""
        result = await self.conn.execute(
            accounts.update()
            .where(
                accounts.c.account_id == account_id,
                accounts.c.status != AccountStatus.CANCELLED.value,
                sa.or_(accounts.c.status_changed_at.is_(None), accounts.c.status_changed_at <= at),
            )
            .values(status=status.value, frozen_reasons=list(reasons), status_changed_at=at)
        )
        return bool(result.rowcount)


def _real_name(row: Any) -> RealName:
    return RealName(
        account_id=row.account_id,
        status=RealNameStatus(row.status),
        subject=RealNameSubject(row.subject) if row.subject else None,
        method=RealNameMethod(row.method) if row.method else None,
        verified_at=row.verified_at,
    )


class RealNames:
    """Real-name status, its append-only history, and the identities behind it."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def get(self, account_id: str, *, for_update: bool = False) -> RealName | None:
        query = sa.select(real_names).where(real_names.c.account_id == account_id)
        row = (
            await self.conn.execute(query.with_for_update() if for_update else query)
        ).one_or_none()
        return _real_name(row) if row is not None else None

    async def apply(self, change: Change, after: RealName, details: dict[str, Any]) -> None:
        """Store the status after the change and append the change to the history."""
        await self.conn.execute(
            real_names.update()
            .where(real_names.c.account_id == change.account_id)
            .values(
                status=after.status.value,
                subject=after.subject.value if after.subject else None,
                method=after.method.value if after.method else None,
                verified_at=after.verified_at,
                updated_at=change.at,
            )
        )
        await self.conn.execute(
            real_name_history.insert().values(
                account_id=change.account_id,
                at=change.at,
                previous_status=change.previous.value,
                status=change.status.value,
                subject=change.subject.value if change.subject else None,
                method=change.method.value if change.method else None,
                reason=change.reason.value,
                details=details,
            )
        )

    async def history(self, account_id: str, *, limit: int) -> list[HistoryEntry]:
        """The changes of the account, newest first."""
        rows = await self.conn.execute(
            sa.select(real_name_history)
            .where(real_name_history.c.account_id == account_id)
            .order_by(real_name_history.c.id.desc())
            .limit(limit)
        )
        return [
            HistoryEntry(
                at=r.at,
                previous_status=RealNameStatus(r.previous_status),
                status=RealNameStatus(r.status),
                subject=RealNameSubject(r.subject) if r.subject else None,
                method=RealNameMethod(r.method) if r.method else None,
                reason=Reason(r.reason).value,
                details=dict(r.details),
            )
            for r in rows
        ]

    async def save_person(self, person: PersonalIdentity) -> None:
        values = {
            "region": person.region,
            "document_kind": person.document_kind,
            "name_masked": person.name_masked,
            "document_masked": person.document_masked,
            "sealed": person.sealed.ciphertext,
            "key_id": person.sealed.key_id,
            "fingerprint": person.fingerprint,
            "verified_at": person.verified_at,
        }
        await self.conn.execute(
            insert(personal_identities)
            .values(account_id=person.account_id, **values)
            .on_conflict_do_update(index_elements=["account_id"], set_=values)
        )

    async def person(self, account_id: str) -> PersonalIdentity | None:
        row = (
            await self.conn.execute(
                sa.select(personal_identities).where(personal_identities.c.account_id == account_id)
            )
        ).one_or_none()
        if row is None:
            return None
        return PersonalIdentity(
            account_id=row.account_id,
            region=row.region,
            document_kind=row.document_kind,
            name_masked=row.name_masked,
            document_masked=row.document_masked,
            sealed=Sealed(row.key_id, row.sealed),
            fingerprint=row.fingerprint,
            verified_at=row.verified_at,
        )
