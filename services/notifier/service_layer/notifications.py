"""Use cases of the subscribers: keep the contacts projection, queue deliveries.

Both run inside the consumer's unit of work, after its inbox claim: a redelivered event is a
no-op, and the (event, channel) key of a delivery makes even a repeat within it one.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from services.notifier.adapters.contacts import ContactsRepository
from services.notifier.adapters.erasures import ErasureRepository
from services.notifier.adapters.repository import DeliveryRepository
from services.notifier.domain.catalogue import CATALOGUE, Notify
from services.notifier.domain.delivery import Delivery, DeliveryStatus, mask
from services.notifier.domain.erasure import ACCOUNT_ERASED
from services.notifier.domain.routing import Category, Contacts, destination_for
from services.notifier.domain.templates import template_language
from services.notifier.service_layer.failures import record_failure
from shared.logging import get_logger
from shared.unit_of_work import UnitOfWork

# Committing a delivery NOTIFYs the couriers of every notifier instance (a trigger on
# deliveries, migration 0005, names this channel).
WAKE_CHANNEL = "notifier_deliveries"
log = get_logger(__name__)


async def learn_contacts(
    uow: UnitOfWork, account_id: str, known: Contacts, as_of: datetime
) -> None:
    """Latest value wins, like the compacted topic: an older record never overwrites a newer.
    An account already erased (CAN-7) or tombstoned stays so: the record is ignored."""
    contacts = ContactsRepository(uow.conn)
    await contacts.lock_account(account_id)
    if await ErasureRepository(uow.conn).is_erased(account_id):
        log.info("contacts_of_erased_account_ignored", account_id=account_id)
        return
    await contacts.save_if_newer(account_id, known, as_of)


async def load_contacts(uow: UnitOfWork, account_id: str) -> Contacts | None:
    return await ContactsRepository(uow.conn).get(account_id)


async def queue_notification(uow: UnitOfWork, command: Notify) -> None:
    """One delivery per channel of the message, written with the other deliveries of the
    unit of work in one statement at its commit.

    The destination is resolved now when the contacts are known (so a message about an
    account erased right after still reaches it), else when it is due. A delivery that
    exists already (same event and channel) is left as it is.
    """
    kind = CATALOGUE.get(command.message_type)
    if command.channel is not None:
        channels = [command.channel]
    elif kind is not None:
        channels = list(kind.channels)
    else:
        channels = []
    # An unknown type still gets a record, which then fails loudly: nothing is dropped.
    category = kind.category if kind is not None else Category.SECURITY
    # A requested message names its destination and language: no contacts to read.
    requested = command.destination is not None and command.language is not None
    known = None if requested else await load_contacts(uow, command.account_id)
    # An erased account has no contacts left: a message routed to it reaches nobody, and
    # fails loudly. (A requested message names its own destination: its requester, identity,
    # asks none for a cancelled account, and the hot path of codes reads nothing more.)
    erased = (
        not requested
        and known is None
        and await ErasureRepository(uow.conn).is_erased(command.account_id)
    )
    language = command.language or (known.language if known else None)
    queued: list[Delivery] = uow.buffer("notifier.deliveries", _add_new)
    now = uow.now()
    for channel in channels:
        destination = command.destination
        if destination is None and known is not None:
            destination = destination_for(category, channel, known)
        delivery = Delivery(
            id=uuid.uuid4(),
            source_event_id=command.source_event_id,
            correlation_id=command.correlation_id,
            account_id=command.account_id,
            message_type=command.message_type,
            category=category,
            channel=channel,
            destination=destination,
            destination_masked=mask(channel, destination) if destination else None,
            language=template_language(language) if language else None,
            params=dict(command.params),
            status=DeliveryStatus.QUEUED,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        if erased:
            delivery.fail_erased(now, ACCOUNT_ERASED)
            await record_failure(uow, delivery)
        queued.append(delivery)


async def _add_new(conn: AsyncConnection, queued: list[Delivery]) -> None:
    # One statement; its trigger (migration 0005) NOTIFYs WAKE_CHANNEL at commit.
    await DeliveryRepository(conn).add_new(queued)
