"""RN-3 (and RN-7): how many accounts one identity verifies, counted atomically.

A quota key is a kind (`person`, `enterprise`) and a keyed hash of the identity, never the
clear number (RN-17). Counting takes the key's row lock, so concurrent submissions of one
identity count one after another; a submission holds its place (`reserved`, with a lease)
while its check runs outside any transaction, keeps it (`held`) once verified, and gives it
back (`released`) when the check fails or the account stops being verified that way. A
reservation whose lease lapsed (the process died) no longer counts.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
import sqlalchemy.exc
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.verification.adapters.tables import quota_claims, quota_keys


class QuotaKind(StrEnum):
    PERSON = "person"
    ENTERPRISE = "enterprise"


class ClaimState(StrEnum):
    RESERVED = "reserved"
    HELD = "held"
    RELEASED = "released"


class QuotaFull(Exception):
    """The key already counts its limit of accounts."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"quota of {limit} reached")
        self.limit = limit


class AccountAlreadyClaims(Exception):
    """The account already has a live claim of this kind (one check at a time; RN-7)."""


class QuotaClaims:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def reserve(
        self,
        kind: QuotaKind,
        key_hash: str,
        account_id: str,
        *,
        limit: int,
        now: datetime,
        lease_until: datetime,
    ) -> int:
        """A place for the account under the key, or QuotaFull / AccountAlreadyClaims.
        Commit the transaction to make the place count for others."""
        await self.conn.execute(
            insert(quota_keys).values(kind=kind.value, key_hash=key_hash).on_conflict_do_nothing()
        )
        override: int | None = (
            await self.conn.execute(
                sa.select(quota_keys.c.limit_override)
                .where(quota_keys.c.kind == kind.value, quota_keys.c.key_hash == key_hash)
                .with_for_update()
            )
        ).scalar_one()
        effective = override if override is not None else limit
        lapsed = sa.and_(
            quota_claims.c.kind == kind.value,
            quota_claims.c.state == ClaimState.RESERVED.value,
            quota_claims.c.lease_until <= now,
            sa.or_(quota_claims.c.key_hash == key_hash, quota_claims.c.account_id == account_id),
        )
        await self.conn.execute(
            quota_claims.update()
            .where(lapsed)
            .values(state=ClaimState.RELEASED.value, updated_at=now)
        )
        counted = (
            await self.conn.execute(
                sa.select(sa.func.count()).where(
                    quota_claims.c.kind == kind.value,
                    quota_claims.c.key_hash == key_hash,
                    quota_claims.c.state != ClaimState.RELEASED.value,
                )
            )
        ).scalar_one()
        if counted >= effective:
            raise QuotaFull(effective)
        try:
            async with self.conn.begin_nested():
                claim_id = (
                    await self.conn.execute(
                        quota_claims.insert()
                        .values(
                            kind=kind.value,
                            key_hash=key_hash,
                            account_id=account_id,
                            state=ClaimState.RESERVED.value,
                            lease_until=lease_until,
                            created_at=now,
                            updated_at=now,
                        )
                        .returning(quota_claims.c.id)
                    )
                ).scalar_one()
        except sqlalchemy.exc.IntegrityError:
            # The one constraint this insert can break: one live claim per account and kind.
            raise AccountAlreadyClaims() from None
        return int(claim_id)

    async def hold(self, claim_id: int, *, now: datetime) -> bool:
        """Keep a reserved place for good (the account verified). False if its lease lapsed
        and the place went to someone else meanwhile."""
        result = await self.conn.execute(
            quota_claims.update()
            .where(quota_claims.c.id == claim_id, quota_claims.c.state == ClaimState.RESERVED.value)
            .values(state=ClaimState.HELD.value, lease_until=None, updated_at=now)
        )
        return bool(result.rowcount)

    async def release(self, claim_id: int, *, now: datetime) -> None:
        """Give a reserved place back (the check failed or timed out)."""
        await self.conn.execute(
            quota_claims.update()
            .where(quota_claims.c.id == claim_id, quota_claims.c.state == ClaimState.RESERVED.value)
            .values(state=ClaimState.RELEASED.value, updated_at=now)
        )

    async def release_account(self, kind: QuotaKind, account_id: str, *, now: datetime) -> None:
        """The account no longer counts under its key of this kind (it changed its real
        name, was downgraded, or was cancelled)."""
        await self.conn.execute(
            quota_claims.update()
            .where(
                quota_claims.c.kind == kind.value,
                quota_claims.c.account_id == account_id,
                quota_claims.c.state != ClaimState.RELEASED.value,
            )
            .values(state=ClaimState.RELEASED.value, updated_at=now)
        )

    async def release_held(self, kind: QuotaKind, account_id: str, *, now: datetime) -> None:
        """RN-9: the account's old place of this kind no longer counts (a change is holding
        its new place in the same transaction)."""
        await self.conn.execute(
            quota_claims.update()
            .where(
                quota_claims.c.kind == kind.value,
                quota_claims.c.account_id == account_id,
                quota_claims.c.state == ClaimState.HELD.value,
            )
            .values(state=ClaimState.RELEASED.value, updated_at=now)
        )

    async def set_limit(self, kind: QuotaKind, key_hash: str, limit: int | None) -> int | None:
        """RN-7: the key's own limit (None: the default again); returns the one before."""
        await self.conn.execute(
            insert(quota_keys).values(kind=kind.value, key_hash=key_hash).on_conflict_do_nothing()
        )
        before: int | None = (
            await self.conn.execute(
                sa.select(quota_keys.c.limit_override)
                .where(quota_keys.c.kind == kind.value, quota_keys.c.key_hash == key_hash)
                .with_for_update()
            )
        ).scalar_one()
        await self.conn.execute(
            quota_keys.update()
            .where(quota_keys.c.kind == kind.value, quota_keys.c.key_hash == key_hash)
            .values(limit_override=limit)
        )
        return before

    async def counted(self, kind: QuotaKind, key_hash: str, *, now: datetime) -> int:
        """Accounts the key counts now (held, and reserved with a live lease)."""
        live = sa.or_(
            quota_claims.c.state == ClaimState.HELD.value,
            sa.and_(
                quota_claims.c.state == ClaimState.RESERVED.value,
                quota_claims.c.lease_until > now,
            ),
        )
        return int(
            (
                await self.conn.execute(
                    sa.select(sa.func.count()).where(
                        quota_claims.c.kind == kind.value,
                        quota_claims.c.key_hash == key_hash,
                        live,
                    )
                )
            ).scalar_one()
        )
