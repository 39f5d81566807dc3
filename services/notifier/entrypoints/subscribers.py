"""Event handlers of the notifier: learn contacts, and queue the messages people must get.

Each handler turns an integration event into a `Notify` command (the explicit mapping from
the event's fields to the template's parameters) and hands it to the service layer, inside
the consumer's inbox transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services.notifier.domain import messages as m
from services.notifier.domain.catalogue import CATALOGUE, Notify
from services.notifier.domain.routing import Contacts
from services.notifier.service_layer.erasure import contacts_tombstoned, schedule_erasure
from services.notifier.service_layer.notifications import learn_contacts, queue_notification
from services.notifier.settings import NotifierSettings
from shared.consumer import EventConsumer, RefusedEvent
from shared.events import (
    AccountContacts,
    AccountLocked,
    AccountRegistered,
    AccountStatus,
    AccountStatusChanged,
    AppealDecided,
    AppealReceived,
    CancellationCompleted,
    CancellationRejected,
    CancellationRequested,
    CancellationWithdrawn,
    Envelope,
    LoginMethodBound,
    LoginMethodUnbound,
    LoginSucceeded,
    MfaBound,
    MfaCodeReplayed,
    MfaUnbound,
    NotificationRequested,
    PasswordChanged,
    ProtectionChanged,
    RealNameChanged,
    RealNameChangeDecided,
    RealNameRecheckFailed,
    RealNameStatus,
    RealNameVerified,
    RemittanceSent,
    SecureEmailChanged,
    SecurePhoneChanged,
    Topic,
    TrustedDeviceAdded,
)
from shared.runtime import Runtime
from shared.unit_of_work import UnitOfWork

# Freezes another message already covers: a cancellation tells the person itself.
SILENT_FREEZE_REASONS = frozenset({"pending_cancellation"})
# RN-13: the reasons of a re-check's downgrade (verification's DOWNGRADE_REASONS; a unit
# test keeps the two equal): such a RealNameChanged gets its own message.
RECHECK_DOWNGRADE_REASONS = frozenset({"entity_deregistered", "registry_mismatch"})


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
        case LoginSucceeded() if p.new_device or p.dormant:
            triggers = [t for t, on in (("new_device", p.new_device), ("dormant", p.dormant)) if on]
            anomaly = m.LoginAnomaly(
                account_id=account,
                method=p.method,
                ip=mask_ip(p.ip),
                at=when(p.at),
                trigger="_".join(triggers),
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
        case RealNameChanged() if _downgrade(p):
            # RN-13: the end of a re-check notice's grace period; its own message, not also
            # a real_name_changed.
            downgraded = m.RealNameDowngraded(
                account_id=account, reason=p.reason or "", at=when(p.changed_at)
            )
            return [_notify(event, downgraded)]
        case RealNameChanged() if not _proves(p):
            # A change that proves a real name comes with RealNameVerified, whose notice
            # says how (below): one message, not two.
            real_name = m.RealNameChanged(
                account_id=account,
                status=p.status.value,
                subject=p.subject.value if p.subject else "",
                at=when(p.changed_at),
            )
            return [_notify(event, real_name)]
        case RealNameVerified() if p.change_id is None:
            # An approved enterprise change (change_id) is told by its RealNameChangeDecided.
            verified = m.RealNameVerified(
                account_id=account,
                subject=p.subject.value,
                method=p.method.value,
                at=when(p.verified_at),
            )
            return [_notify(event, verified)]
        case RemittanceSent():
            # RN-5: never the amount (the proof the owner reads on the bank statement).
            sent = m.RemittanceSent(
                account_id=account,
                bank_account=p.receiving_account_masked,
                enter_by=when(p.enter_by),
                at=when(p.sent_at),
            )
            return [_notify(event, sent)]
        case RealNameChangeDecided() if p.approved:
            approved = m.RealNameChangeApproved(
                account_id=account,
                change_id=str(p.change_id),
                change_kind=p.kind.value,
                reason=p.reason or "-",
                at=when(p.decided_at),
            )
            return [_notify(event, approved)]
        case RealNameChangeDecided():
            rejected_change = m.RealNameChangeRejected(
                account_id=account,
                change_id=str(p.change_id),
                change_kind=p.kind.value,
                reason=p.reason or "-",
                at=when(p.decided_at),
            )
            return [_notify(event, rejected_change)]
        case RealNameRecheckFailed():
            # RN-13: the notice before the downgrade, with the day it happens.
            recheck = m.RealNameRecheckNotice(
                account_id=account,
                reason=p.reason,
                downgrade_at=when(p.downgrade_at),
                at=when(p.noticed_at),
            )
            return [_notify(event, recheck)]
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
                reasons=",".join(p.reasons),
                at=when(p.rejected_at),
                operator_reason=p.operator_reason or "-",
            )
            return [_notify(event, rejected)]
        case CancellationCompleted():
            completed = m.CancellationCompleted(
                account_id=account, application_id=p.application_id, at=when(p.completed_at)
            )
            return [_notify(event, completed)]
        case MfaBound():
            return [_notify(event, m.MfaBound(account_id=account, at=when(p.bound_at)))]
        case MfaUnbound():
            mfa_unbound = m.MfaUnbound(account_id=account, by=p.by.value, at=when(p.unbound_at))
            return [_notify(event, mfa_unbound)]
        case MfaCodeReplayed():
            replayed = m.MfaCodeReplayed(account_id=account, during=p.during.value, at=when(p.at))
            return [_notify(event, replayed)]
        case ProtectionChanged() if p.turned_off():
            # Turning a protection on is what the owner asked for; turning one off is what an
            # intruder would do, so only that is told.
            off = m.ProtectionTurnedOff(
                account_id=account,
                protections=",".join(x.value for x in p.turned_off()),
                at=when(p.changed_at),
            )
            return [_notify(event, off)]
        case TrustedDeviceAdded():
            trusted = m.TrustedDeviceAdded(
                account_id=account,
                device=p.device_label or "-",
                trusted_until=when(p.trusted_until),
                at=when(p.at),
            )
            return [_notify(event, trusted)]
        case AppealReceived():
            # REC-2: someone asks to take over the account's login: its owner hears at once.
            received = m.AppealReceived(
                account_id=account,
                appeal_id=p.appeal_id,
                email=p.email_masked,
                reset_mfa="yes" if p.reset_mfa else "no",
                at=when(p.at),
            )
            return [_notify(event, received)]
        case AppealDecided():
            # To the secure channels; identity requests the same message for the appeal's
            # new email (NotificationRequested, below).
            decided = m.AppealDecided(
                account_id=account,
                appeal_id=p.appeal_id,
                decision="approved" if p.approved else "rejected",
                reason=p.reason or "-",
                email=p.email_masked,
                at=when(p.decided_at),
            )
            return [_notify(event, decided)]
        case NotificationRequested():
            requestable = CATALOGUE.get(p.message_type)
            if requestable is None or not requestable.requested:
                # Only one-time codes and an appeal's decision name their own destination;
                # any other message goes to the account's channels (SEC-4), never to an
                # address a requester picks.
                raise RefusedEvent(
                    "not_requestable",
                    f"message type {p.message_type[:64]!r} cannot be requested: it is sent "
                    "only in answer to an event, to the account's own channels",
                )
            return [
                Notify(
                    source_event_id=event.event_id,
                    correlation_id=event.correlation_id,
                    account_id=event.account_id,
                    message_type=p.message_type,
                    params=requested_params(event.account_id, p),
                    language=p.language,
                    channel=p.channel,
                    destination=p.destination,
                )
            ]
    return []


def _proves(change: RealNameChanged) -> bool:
    """Verified with no reason: a proof, which RealNameVerified accompanies (RN-16)."""
    return change.status is RealNameStatus.VERIFIED and change.reason is None


def _downgrade(change: RealNameChanged) -> bool:
    """RN-13: verified to unverified for a re-check's reason."""
    return (
        change.status is RealNameStatus.UNVERIFIED
        and change.previous_status is RealNameStatus.VERIFIED
        and change.reason in RECHECK_DOWNGRADE_REASONS
    )


def requested_params(account_id: str, request: NotificationRequested) -> dict[str, str]:
    """A requested message's parameters as the requester named them; the account a message
    declares (`account_id`) is the envelope's, not a parameter the requester chooses."""
    params = dict(request.params)
    if request.message_type == m.VerificationCode.message_type:
        params.setdefault("minutes", "5")
    kind = CATALOGUE.get(request.message_type)
    if account_id and kind is not None and "account_id" in kind.params:
        params["account_id"] = account_id
    return params


# The events that may mean a message to a person; `notices` decides which do
# (CancellationCompleted too, through its own handler below).
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
    | RealNameVerified
    | RemittanceSent
    | RealNameChangeDecided
    | RealNameRecheckFailed
    | CancellationRequested
    | CancellationWithdrawn
    | CancellationRejected
    | MfaBound
    | MfaUnbound
    | MfaCodeReplayed
    | ProtectionChanged
    | TrustedDeviceAdded
    | AppealReceived
    | AppealDecided
    | NotificationRequested
)


async def on_notice(uow: UnitOfWork, event: Envelope[Notice]) -> None:
    """Queue the event's messages: one delivery per (event, channel)."""
    await queue_notices(uow, event)


async def queue_notices(uow: UnitOfWork, event: Envelope[Any]) -> None:
    for command in notices(event):
        await queue_notification(uow, command)


def subscribe(consumer: EventConsumer, runtime: Runtime) -> None:
    settings = runtime.settings
    assert isinstance(settings, NotifierSettings)
    max_wait = timedelta(seconds=settings.erasure_max_wait_s)

    async def on_cancellation_completed(
        uow: UnitOfWork, event: Envelope[CancellationCompleted]
    ) -> None:
        """CAN-8 then CAN-7: queue the completion notice, and the erasure that waits for it
        (both in the inbox transaction)."""
        await queue_notices(uow, event)
        await schedule_erasure(
            uow,
            event.account_id,
            application_id=event.payload.application_id,
            source_event_id=event.event_id,
            correlation_id=event.correlation_id,
            max_wait=max_wait,
        )

    async def on_contacts_erased(uow: UnitOfWork, account_id: str) -> None:
        """identity.contacts' tombstone: identity erased the account."""
        await contacts_tombstoned(uow, account_id, max_wait=max_wait)

    consumer.handle(on_account_contacts, on_notice, on_cancellation_completed)
    # A request carries a destination in clear and a code: only trusted services may ask.
    consumer.only_from(NotificationRequested, settings.trusted_producer_names)
    consumer.handle_tombstones(Topic.IDENTITY_CONTACTS, on_contacts_erased)
