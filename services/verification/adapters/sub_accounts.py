"""RN-12: the projection of CAM's sub-accounts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.verification.adapters.tables import sub_accounts


class Link(StrEnum):
    CREATED = "created"  # inherits the root's real name
    ASSOCIATED = "associated"  # verifies itself


class SubAccounts:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def link(self, account_id: str, root_account_id: str, kind: Link, at: datetime) -> None:
        """The account's root as CAM last said (a newer link replaces an older one)."""
        values = {"root_account_id": root_account_id, "kind": kind.value, "linked_at": at}
        await self.conn.execute(
            insert(sub_accounts)
            .values(account_id=account_id, **values)
            .on_conflict_do_update(
                index_elements=["account_id"],
                set_=values,
                where=sub_accounts.c.linked_at <= at,
            )
        )

    async def root_of(self, account_id: str) -> str | None:
        """The root whose real name the account inherits (created sub-accounts only)."""
        return (
            await self.conn.execute(
                sa.select(sub_accounts.c.root_account_id).where(
                    sub_accounts.c.account_id == account_id,
                    sub_accounts.c.kind == Link.CREATED.value,
                )
            )
        ).scalar_one_or_none()

    async def created_among(self, account_ids: list[str]) -> list[str]:
        """Which of these accounts are created sub-accounts (one query for a batch)."""
        rows = await self.conn.execute(
            sa.select(sub_accounts.c.account_id).where(
                sub_accounts.c.account_id.in_(account_ids),
                sub_accounts.c.kind == Link.CREATED.value,
            )
        )
        return [r.account_id for r in rows]

    async def created_by(self, root_account_id: str) -> list[str]:
        rows = await self.conn.execute(
            sa.select(sub_accounts.c.account_id)
            .where(
                sub_accounts.c.root_account_id == root_account_id,
                sub_accounts.c.kind == Link.CREATED.value,
            )
            .order_by(sub_accounts.c.account_id)
        )
        return [r.account_id for r in rows]
