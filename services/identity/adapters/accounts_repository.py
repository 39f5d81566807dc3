"""Storing accounts; storage errors become domain errors here."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from services.identity.adapters.tables import account_id_seq, accounts, login_methods
from shared.errors import Conflict, NotFound


class EmailTaken(Conflict):
    code = "EMAIL_ALREADY_REGISTERED"


class AccountNotFound(NotFound):
    code = "ACCOUNT_NOT_FOUND"


async def add_email_account(
    conn: AsyncConnection, *, email: str, language: str, registered_at: datetime
) -> int:
    """Insert the account and its email login method; EmailTaken if the email is bound."""
    account_id = await conn.scalar(sa.select(account_id_seq.next_value()))
    assert account_id is not None
    await conn.execute(
        accounts.insert().values(
            account_id=account_id,
            status="active",
            language=language,
            contact_email=email,
            registered_at=registered_at,
        )
    )
    try:
        async with conn.begin_nested():
            await conn.execute(
                login_methods.insert().values(
                    account_id=account_id,
                    kind="email",
                    identifier=email.lower(),
                    bound_at=registered_at,
                )
            )
    except IntegrityError:
        raise EmailTaken("This email is already registered.", details={"field": "email"}) from None
    return account_id


async def get_account(conn: AsyncConnection, account_id: int) -> sa.Row[tuple[object, ...]]:
    row = (
        await conn.execute(sa.select(accounts).where(accounts.c.account_id == account_id))
    ).first()
    if row is None:
        raise AccountNotFound(f"No account {account_id}.")
    return row
