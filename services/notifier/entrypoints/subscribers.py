"""Event handlers of the notifier: learn contacts, and queue the messages people must get.

Each handler turns an integration event into a `Notify` command (the explicit mapping from
the event's fields to the template's parameters) and hands it to the service layer, inside
the consumer's inbox transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.notifier.domain import messages as m
from services.notifier.domain.catalogue import Notify
from services.notifier.domain.routing import Contacts
from services.notifier.service_layer.notifications import (
    forget_contacts,
    learn_contacts,
    queue_notification,
)
from services.notifier.settings import NotifierSettings
from shared.consumer import EventConsumer
from shared.events import (
    AccountContacts,
    AccountLocked,
    AccountRegistered,
    AccountStatus,
    AccountStatusChanged,
    CancellationCompleted,
    CancellationRejected,
    CancellationRequested,
    CancellationWithdrawn,
    Envelope,
    LoginMethodBound,
    LoginMethodUnbound,
    LoginSucceeded,
    NotificationRequested,
    PasswordChanged,
    RealNameChanged,
    SecureEmailChanged,
    SecurePhoneChanged,
    Topic,
)
from shared.runtime import Runtime
from shared.unit_of_work import UnitOfWork

# Freezes another message already covers: a cancellation tells the person itself.
SILENT_FREEZE_REASONS = frozenset({"pending_cancellation"})


def when(at: datetime) -> str:
    """Times in messages: minute precision, UTC, the same in both languages."""
    return at.strftime("%Y-%m-%d %H:%M UTC")


def mask_ip(ip: str | None) -> str:
    """An IP address is personal data: keep the network, hide the host part."""
    if not ip:
        return "-"
    if "." in ip:
        return ".".join(ip.split(".")[:3]) + ".*"
    return ":".join(ip.split(":")[:3]) + ":*"


async def on_account_contacts(uow: UnitOfWork, event: Envelope[AccountContacts]) -> None:
    payload = event.payload
    known = Contacts(
        secure_phone=payload.secure_phone,
        secure_email=payload.secure_email,
        message_phone=payload.message_phone,
        contact_email=payload.contact_email,
        language=payload.language,
    )
    await learn_contacts(uow, event.account_id, known, event.occurred_at)


async def on_contacts_erased(uow: UnitOfWork, account_id: str) -> None:
    await forget_contacts(uow, account_id)


def _notify(event: Envelope[Any], message: m.Message, language: str | None = None) -> Notify:
    return Notify(
        source_event_id=event.event_id,
        correlation_id=event.correlation_id,
        account_id=event.account_id,
        message_type=message.message_type,
        params=message.params(),
        language=language,
    )


def notices(event: Envelope[Any]) -> list[Notify]:
    """The messages an event means for the account's owner (none for most events): the
    explicit mapping from each event's fields to its message's parameters."""
    p = event.payload
    account = event.account_id
    match p:
        case AccountRegistered():
            login = p.email_masked or p.method.value
            return [_notify(event, m.Welcome(account_id=account, login=login), p.language)]
        case LoginMethodBound():
            bound = m.LoginMethodBound(
                account_id=account,
                kind=p.kind.value,
                identifier=p.identifier_masked,
                at=when(p.bound_at),
            )
            return [_notify(event, bound)]
        case LoginMethodUnbound():
            unbound = m.LoginMethodUnbound(
                account_id=account,
                kind=p.kind.value,
                identifier=p.identifier_masked,
                at=when(p.unbound_at),
            )
            return [_notify(event, unbound)]
        case LoginSucceeded() if p.new_device:
            anomaly = m.LoginAnomaly(
                account_id=account, method=p.method, ip=mask_ip(p.ip), at=when(p.at)
            )
            return [_notify(event, anomaly)]
        case AccountLocked() if p.notify_owner:
            locked = m.AccountLocked(
                account_id=account, locked_until=when(p.locked_until), failures=str(p.failures)
            )
            return [_notify(event, locked)]
        case PasswordChanged():
            changed = m.PasswordChanged(account_id=account, how=p.how, at=when(p.at))
            return [_notify(event, changed)]
        case SecurePhoneChanged():
            phone = m.SecurePhoneChanged(
                account_id=account,
                phone=p.phone_masked,
                previous=p.previous_masked or "",
                at=when(p.at),
            )
            return [_notify(event, phone)]
        case SecureEmailChanged():
            email = m.SecureEmailChanged(
                account_id=account,
                email=p.email_masked,
                previous=p.previous_masked or "",
                at=when(p.at),
            )
            return [_notify(event, email)]
        case AccountStatusChanged() if p.status is AccountStatus.FROZEN:
            reasons = [r for r in p.frozen_reasons if r not in SILENT_FREEZE_REASONS]
            if not reasons:
                return []
            frozen = m.AccountFrozen(
                account_id=account, reasons=",".join(reasons), at=when(p.changed_at)
            )
            return [_notify(event, frozen)]
        case RealNameChanged():
            real_name = m.RealNameChanged(
                account_id=account,
                status=p.status.value,
                subject=p.subject.value if p.subject else "",
                at=when(p.changed_at),
            )
            return [_notify(event, real_name)]
        case CancellationRequested():
            requested = m.CancellationRequested(
                account_id=account,
                application_id=p.application_id,
                cooling_off_ends_at=when(p.cooling_off_ends_at),
            )
            return [_notify(event, requested)]
        case CancellationWithdrawn():
            withdrawn = m.CancellationWithdrawn(
                account_id=account, application_id=p.application_id, at=when(p.withdrawn_at)
            )
            return [_notify(event, withdrawn)]
        case CancellationRejected():
            rejected = m.CancellationRejected(
                account_id=account,
                application_id=p.application_id,
                reasons=", ".join(p.reasons),
                at=when(p.rejected_at),
            )
            return [_notify(event, rejected)]
        case CancellationCompleted():
            completed = m.CancellationCompleted(
                account_id=account, application_id=p.application_id, at=when(p.completed_at)
            )
            return [_notify(event, completed)]
        case NotificationRequested():
            return [
                Notify(
                    source_event_id=event.event_id,
                    correlation_id=event.correlation_id,
                    account_id=event.account_id,
                    message_type=p.message_type,
                    params={"minutes": "5", **p.params},
                    language=p.language,
                    channel=p.channel,
                    destination=p.destination,
                )
            ]
    return []


# The events that may mean a message to a person; `notices` decides which do.
Notice = (
    AccountRegistered
    | LoginMethodBound
    | LoginMethodUnbound
    | LoginSucceeded
    | AccountLocked
    | PasswordChanged
    | SecurePhoneChanged
    | SecureEmailChanged
    | AccountStatusChanged
    | RealNameChanged
    | CancellationRequested
    | CancellationWithdrawn
    | CancellationRejected
    | CancellationCompleted
    | NotificationRequested
)


async def on_notice(uow: UnitOfWork, event: Envelope[Notice]) -> None:
    """Queue the event's messages: one delivery per (event, channel)."""
    for command in notices(event):
        await queue_notification(uow, command)


def subscribe(consumer: EventConsumer, runtime: Runtime) -> None:
    settings = runtime.settings
    assert isinstance(settings, NotifierSettings)
    consumer.handle(on_account_contacts, on_notice)
    # A request carries a destination in clear and a code: only trusted services may ask.
    consumer.only_from(NotificationRequested, settings.trusted_producer_names)
    consumer.handle_tombstones(Topic.IDENTITY_CONTACTS, on_contacts_erased)
