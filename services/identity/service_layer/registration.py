"""Use cases of registration: validate, store, and queue the events in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.identity.adapters.accounts_repository import add_email_account
from services.identity.domain.accounts import email_registration
from shared.events import AccountContacts, AccountRegistered, LoginMethodKind, Topic, new_envelope
from shared.masking import mask_email
from shared.runtime import Runtime

PRODUCER = "identity"


@dataclass(frozen=True)
class Registered:
    account_id: str
    email: str
    registered_at: datetime


async def register_by_email(runtime: Runtime, *, email: str, language: str) -> Registered:
    """ACC-1/REG-1: a new account whose first login method is the email."""
    request = email_registration(email, language)
    now = runtime.clock.now()
    async with runtime.uow() as uow:
        numeric_id = await add_email_account(
            uow.conn, email=request.email, language=request.language, registered_at=now
        )
        account_id = str(numeric_id)
        contacts = new_envelope(
            AccountContacts(contact_email=request.email, language=request.language),
            producer=PRODUCER,
            account_id=account_id,
            occurred_at=now,
        )
        # Contacts first: the notifier should know where to write before it hears of the account.
        await uow.emit(Topic.IDENTITY_CONTACTS, contacts)
        await uow.emit(
            Topic.IDENTITY_EVENTS,
            new_envelope(
                AccountRegistered(
                    registered_at=now,
                    method=LoginMethodKind.EMAIL,
                    email_masked=mask_email(request.email),
                    language=request.language,
                ),
                producer=PRODUCER,
                account_id=account_id,
                correlation_id=contacts.correlation_id,
                occurred_at=now,
            ),
        )
    return Registered(account_id=account_id, email=request.email, registered_at=now)
