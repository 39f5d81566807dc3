"""The contacts projection in PostgreSQL (from identity.contacts): where each account is
reached. The only SQL of the projection."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from services.notifier.adapters.tables import contacts
from services.notifier.domain.routing import Contacts


class ContactsRepository:
    """Contacts within the caller's transaction (a unit of work's connection)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def save_if_newer(self, account_id: str, known: Contacts, as_of: datetime) -> None:
        """Latest value wins, like the compacted topic: an older record never overwrites a
        newer one."""
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
                where=contacts.c.updated_at <= stmt.excluded.updated_at,
            )
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
