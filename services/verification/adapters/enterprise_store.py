"""Storage of verified enterprises and of pending recharges and remittances (RN-5..RN-8).

One class per aggregate, bound to the unit of work's connection; no rule runs here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.exc
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.verification.adapters.tables import enterprise_attempts, enterprise_identities
from services.verification.domain.enterprise import Attempt, AttemptState, EnterpriseMethod
from shared.secret_box import Sealed


@dataclass(frozen=True)
class EnterpriseIdentity:
    """The enterprise an account verified as: public registry data in clear, the legal
    person masked (and sealed when a legal-person method checked the document)."""

    account_id: str
    name: str
    uscc: str
    legal_person_name_masked: str
    legal_person_region: str
    legal_person_document_masked: str | None
    sealed: Sealed | None
    method: str
    verified_at: datetime


@dataclass(frozen=True)
class NewAttempt:
    account_id: str
    method: EnterpriseMethod
    name: str
    uscc: str
    legal_person_name_masked: str
    legal_person_region: str
    amount_fen: int
    tries_left: int
    claim_id: int
    created_at: datetime
    expires_at: datetime
    bank_name: str | None = None
    bank_account_masked: str | None = None
    bank_sealed: Sealed | None = None


class AttemptAlreadyOpen(Exception):
    """The account has an open recharge or remittance already."""


def _attempt(row: Any) -> Attempt:
    return Attempt(
        id=row.id,
        account_id=row.account_id,
        method=EnterpriseMethod(row.method),
        state=AttemptState(row.state),
        name=row.name,
        uscc=row.uscc,
        legal_person_name_masked=row.legal_person_name_masked,
        legal_person_region=row.legal_person_region,
        amount_fen=row.amount_fen,
        tries_left=row.tries_left,
        bank_name=row.bank_name,
        bank_account_masked=row.bank_account_masked,
        claim_id=row.claim_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


class Enterprises:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def save(self, identity: EnterpriseIdentity) -> None:
        values = {
            "name": identity.name,
            "uscc": identity.uscc,
            "legal_person_name_masked": identity.legal_person_name_masked,
            "legal_person_region": identity.legal_person_region,
            "legal_person_document_masked": identity.legal_person_document_masked,
            "sealed": identity.sealed.ciphertext if identity.sealed else None,
            "key_id": identity.sealed.key_id if identity.sealed else None,
            "method": identity.method,
            "verified_at": identity.verified_at,
        }
        await self.conn.execute(
            insert(enterprise_identities)
            .values(account_id=identity.account_id, **values)
            .on_conflict_do_update(index_elements=["account_id"], set_=values)
        )

    async def get(self, account_id: str) -> EnterpriseIdentity | None:
        row = (
            await self.conn.execute(
                sa.select(enterprise_identities).where(
                    enterprise_identities.c.account_id == account_id
                )
            )
        ).one_or_none()
        if row is None:
            return None
        return EnterpriseIdentity(
            account_id=row.account_id,
            name=row.name,
            uscc=row.uscc,
            legal_person_name_masked=row.legal_person_name_masked,
            legal_person_region=row.legal_person_region,
            legal_person_document_masked=row.legal_person_document_masked,
            sealed=Sealed(row.key_id, row.sealed) if row.sealed is not None else None,
            method=row.method,
            verified_at=row.verified_at,
        )


class Attempts:
    """Recharges and remittances; one open per account (a partial unique index)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def open(self, new: NewAttempt) -> int:
        try:
            async with self.conn.begin_nested():
                return int(
                    (
                        await self.conn.execute(
                            enterprise_attempts.insert()
                            .values(
                                account_id=new.account_id,
                                method=new.method.value,
                                state=AttemptState.OPEN.value,
                                name=new.name,
                                uscc=new.uscc,
                                legal_person_name_masked=new.legal_person_name_masked,
                                legal_person_region=new.legal_person_region,
                                amount_fen=new.amount_fen,
                                tries_left=new.tries_left,
                                bank_name=new.bank_name,
                                bank_account_masked=new.bank_account_masked,
                                bank_sealed=new.bank_sealed.ciphertext if new.bank_sealed else None,
                                bank_key_id=new.bank_sealed.key_id if new.bank_sealed else None,
                                claim_id=new.claim_id,
                                created_at=new.created_at,
                                expires_at=new.expires_at,
                            )
                            .returning(enterprise_attempts.c.id)
                        )
                    ).scalar_one()
                )
        except sqlalchemy.exc.IntegrityError:
            raise AttemptAlreadyOpen() from None

    async def open_of(self, account_id: str, *, for_update: bool = False) -> Attempt | None:
        query = sa.select(enterprise_attempts).where(
            enterprise_attempts.c.account_id == account_id,
            enterprise_attempts.c.state == AttemptState.OPEN.value,
        )
        row = (
            await self.conn.execute(query.with_for_update() if for_update else query)
        ).one_or_none()
        return _attempt(row) if row is not None else None

    async def get(self, attempt_id: int, *, for_update: bool = False) -> Attempt | None:
        query = sa.select(enterprise_attempts).where(enterprise_attempts.c.id == attempt_id)
        row = (
            await self.conn.execute(query.with_for_update() if for_update else query)
        ).one_or_none()
        return _attempt(row) if row is not None else None

    async def started_since(
        self, account_id: str, method: EnterpriseMethod, since: datetime
    ) -> list[datetime]:
        """When the account's attempts of this method started since `since`, oldest first."""
        rows = await self.conn.execute(
            sa.select(enterprise_attempts.c.created_at)
            .where(
                enterprise_attempts.c.account_id == account_id,
                enterprise_attempts.c.method == method.value,
                enterprise_attempts.c.created_at > since,
            )
            .order_by(enterprise_attempts.c.created_at)
        )
        return [r.created_at for r in rows]

    async def bank_sealed(self, attempt_id: int) -> Sealed | None:
        row = (
            await self.conn.execute(
                sa.select(
                    enterprise_attempts.c.bank_key_id, enterprise_attempts.c.bank_sealed
                ).where(enterprise_attempts.c.id == attempt_id)
            )
        ).one_or_none()
        if row is None or row.bank_sealed is None:
            return None
        return Sealed(row.bank_key_id, row.bank_sealed)

    async def spend_try(self, attempt_id: int, tries_left: int) -> None:
        await self.conn.execute(
            enterprise_attempts.update()
            .where(enterprise_attempts.c.id == attempt_id)
            .values(tries_left=tries_left)
        )

    async def end(
        self,
        attempt_id: int,
        state: AttemptState,
        *,
        now: datetime,
        payment_id: str | None = None,
    ) -> None:
        await self.conn.execute(
            enterprise_attempts.update()
            .where(enterprise_attempts.c.id == attempt_id)
            .values(state=state.value, ended_at=now, payment_id=payment_id)
        )
