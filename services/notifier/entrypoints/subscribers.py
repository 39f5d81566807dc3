"""Event handlers of the notifier: learn contacts, and queue the messages people must get.

Each handler turns an integration event into a `Notify` command (the explicit mapping from
the event's fields to the template's parameters) and hands it to the service layer, inside
the consumer's inbox transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

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


def _notify(
    event: Envelope[Any], message_type: str, language: str | None = None, **params: str
) -> Notify:
    return Notify(
        source_event_id=event.event_id,
        correlation_id=event.correlation_id,
        account_id=event.account_id,
        message_type=message_type,
        params={"account_id": event.account_id, **params},
        language=language,
    )


def notices(event: Envelope[Any]) -> list[Notify]:
    """The messages an event means for the account's owner (none for most events)."""
    p = event.payload
    match p:
        case AccountRegistered():
            login = p.email_masked or p.method.value
            return [_notify(event, "welcome", p.language, login=login)]
        case LoginMethodBound():
            return [
                _notify(
                    event,
                    "login_method_bound",
                    kind=p.kind.value,
                    identifier=p.identifier_masked,
                    at=when(p.bound_at),
                )
            ]
        case LoginMethodUnbound():
            return [
                _notify(
                    event,
                    "login_method_unbound",
                    kind=p.kind.value,
                    identifier=p.identifier_masked,
                    at=when(p.unbound_at),
                )
            ]
        case LoginSucceeded() if p.new_device:
            return [
                _notify(event, "login_anomaly", method=p.method, ip=mask_ip(p.ip), at=when(p.at))
            ]
        case AccountLocked() if p.notify_owner:
            return [
                _notify(
                    event,
                    "account_locked",
                    locked_until=when(p.locked_until),
                    failures=str(p.failures),
                )
            ]
        case PasswordChanged():
            return [_notify(event, "password_changed", how=p.how, at=when(p.at))]
        case SecurePhoneChanged():
            return [
                _notify(
                    event,
                    "secure_phone_changed",
                    phone=p.phone_masked,
                    previous=p.previous_masked or "",
                    at=when(p.at),
                )
            ]
        case SecureEmailChanged():
            return [
                _notify(
                    event,
                    "secure_email_changed",
                    email=p.email_masked,
                    previous=p.previous_masked or "",
                    at=when(p.at),
                )
            ]
        case AccountStatusChanged() if p.status is AccountStatus.FROZEN:
            reasons = [r for r in p.frozen_reasons if r not in SILENT_FREEZE_REASONS]
            if not reasons:
                return []
            return [
                _notify(event, "account_frozen", reasons=",".join(reasons), at=when(p.changed_at))
            ]
        case RealNameChanged():
            return [
                _notify(
                    event,
                    "real_name_changed",
                    status=p.status.value,
                    subject=p.subject.value if p.subject else "",
                    at=when(p.changed_at),
                )
            ]
        case CancellationRequested():
            return [
                _notify(
                    event,
                    "cancellation_requested",
                    application_id=p.application_id,
                    cooling_off_ends_at=when(p.cooling_off_ends_at),
                )
            ]
        case CancellationWithdrawn():
            return [
                _notify(
                    event,
                    "cancellation_withdrawn",
                    application_id=p.application_id,
                    at=when(p.withdrawn_at),
                )
            ]
        case CancellationRejected():
            return [
                _notify(
                    event,
                    "cancellation_rejected",
                    application_id=p.application_id,
                    reasons=", ".join(p.reasons),
                    at=when(p.rejected_at),
                )
            ]
        case CancellationCompleted():
            return [
                _notify(
                    event,
                    "cancellation_completed",
                    application_id=p.application_id,
                    at=when(p.completed_at),
                )
            ]
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
