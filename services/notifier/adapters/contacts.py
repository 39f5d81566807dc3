"""The contacts projection in PostgreSQL (from identity.contacts): where each account is
reached. The only SQL of the projection."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from services.notifier.adapters.tables import contacts
from services.notifier.domain.routing import Contacts

# Namespace of the per-account advisory locks.
_LOCK = "notifier.contacts:"


class ContactsRepository:
    """Contacts within the caller's transaction (a unit of work's connection)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def lock_account(self, account_id: str) -> None:
        """Serialise, for this account, the projection's changes and its erasure until the
        end of the transaction (an advisory lock: the row may not exist yet)."""
        key = sa.func.hashtextextended(_LOCK + account_id, 0)
        await self._conn.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))

    async def save_if_newer(self, account_id: str, known: Contacts, as_of: datetime) -> None:
        """Latest value wins, like the compacted topic: an older record never overwrites a
        newer one, and nothing overwrites a tombstoned one."""
        values = {
            "secure_phone": known.secure_phone,
            "secure_email": known.secure_email,
            "message_phone": known.message_phone,
            "contact_email": known.contact_email,
            "language": known.language,
            "updated_at": as_of,
        }
        stmt = postgresql.insert(contacts).values(account_id=account_id, **values)
        await self._conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[contacts.c.account_id],
                set_=values,
                where=sa.and_(
                    contacts.c.updated_at <= stmt.excluded.updated_at,
                    contacts.c.tombstoned_at.is_(None),
                ),
            )
        )

    async def mark_tombstoned(self, account_id: str, now: datetime) -> None:
        """identity erased the account: the channels stay until the notifier's erasure (the
        completion notice must still go out) and are never updated again."""
        await self._conn.execute(
            contacts.update()
            .where(contacts.c.account_id == account_id, contacts.c.tombstoned_at.is_(None))
            .values(tombstoned_at=now)
        )

    async def delete(self, account_id: str) -> None:
        await self._conn.execute(contacts.delete().where(contacts.c.account_id == account_id))

    async def get(self, account_id: str) -> Contacts | None:
        row = (
            await self._conn.execute(sa.select(contacts).where(contacts.c.account_id == account_id))
        ).first()
        if row is None:
            return None
        return Contacts(
            secure_phone=row.secure_phone,
            secure_email=row.secure_email,
            message_phone=row.message_phone,
            contact_email=row.contact_email,
            language=row.language,
        )
