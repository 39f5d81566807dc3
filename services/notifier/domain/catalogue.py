"""The message catalogue: every message the notifier sends, its SEC-4 category, its channels
and its template parameters. Pure data; a test renders every entry in both languages."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from services.notifier.domain import messages as m
from services.notifier.domain.routing import Category
from shared.events import Channel

BOTH = (Channel.SMS, Channel.EMAIL)
EMAIL_ONLY = (Channel.EMAIL,)
SECRET_MASK = "******"


@dataclass(frozen=True)
class MessageKind:
    """One message type. `params` is the template's parameters (declared once, by the fields
    of its class in messages.py), in the order an SMS provider's template takes them;
    `secret` names the ones scrubbed from the record once it is sent."""

    message_type: str
    category: Category
    channels: tuple[Channel, ...]
    params: tuple[str, ...]
    secret: frozenset[str] = frozenset()
    # Whether a service may request it (NotificationRequested), naming channel and destination
    # (one-time codes; an appeal decision for the appeal's new email). A requested delivery
    # is not routed by SEC-4; appeal_decided is also routed, to the secure channels.
    requested: bool = False


def _kind(
    message: type[m.Message],
    category: Category,
    channels: tuple[Channel, ...],
    *,
    secret: frozenset[str] = frozenset(),
    requested: bool = False,
) -> tuple[str, MessageKind]:
    kind = MessageKind(
        message.message_type, category, channels, message.parameters(), secret, requested
    )
    return message.message_type, kind


CATALOGUE: dict[str, MessageKind] = dict(
    [
        _kind(m.Welcome, Category.PRODUCT, EMAIL_ONLY),
        _kind(m.LoginMethodBound, Category.SECURITY, BOTH),
        _kind(m.LoginMethodUnbound, Category.SECURITY, BOTH),
        _kind(m.LoginAnomaly, Category.SECURITY, BOTH),
        _kind(m.AccountLocked, Category.SECURITY, BOTH),
        _kind(m.PasswordChanged, Category.SECURITY, BOTH),
        _kind(m.SecurePhoneChanged, Category.SECURITY, BOTH),
        _kind(m.SecureEmailChanged, Category.SECURITY, BOTH),
        _kind(m.RealNameChanged, Category.SECURITY, BOTH),
        _kind(m.RealNameVerified, Category.SECURITY, BOTH),
        _kind(m.RemittanceSent, Category.SECURITY, BOTH),
        _kind(m.RealNameChangeApproved, Category.SECURITY, BOTH),
        _kind(m.RealNameChangeRejected, Category.SECURITY, BOTH),
        _kind(m.RealNameRecheckNotice, Category.SECURITY, BOTH),
        _kind(m.RealNameDowngraded, Category.SECURITY, BOTH),
        _kind(m.CancellationRequested, Category.SECURITY, BOTH),
        _kind(m.CancellationWithdrawn, Category.SECURITY, BOTH),
        _kind(m.CancellationRejected, Category.SECURITY, BOTH),
        _kind(m.CancellationCompleted, Category.SECURITY, BOTH),
        _kind(m.MfaBound, Category.SECURITY, BOTH),
        _kind(m.MfaUnbound, Category.SECURITY, BOTH),
        _kind(m.MfaCodeReplayed, Category.SECURITY, BOTH),
        _kind(m.ProtectionTurnedOff, Category.SECURITY, BOTH),
        _kind(m.TrustedDeviceAdded, Category.SECURITY, BOTH),
        _kind(m.AppealReceived, Category.SECURITY, BOTH),
        # Routed to the secure channels and also requested for the appeal's new email.
        _kind(m.AppealDecided, Category.SECURITY, BOTH, requested=True),
        _kind(m.AccountFrozen, Category.BILLING, BOTH),
        _kind(
            m.VerificationCode,
            Category.SECURITY,
            BOTH,
            secret=frozenset({"code"}),
            requested=True,
        ),
    ]
)


class UnknownMessageType(LookupError):
    """A message type the catalogue does not have."""


def kind_of(message_type: str) -> MessageKind:
    try:
        return CATALOGUE[message_type]
    except KeyError:
        raise UnknownMessageType(message_type) from None


def scrub(message_type: str, params: Mapping[str, str]) -> dict[str, str]:
    """The parameters with secrets (one-time codes) masked, for records kept after sending."""
    kind = CATALOGUE.get(message_type)
    secret = kind.secret if kind else frozenset({"code"})
    return {k: SECRET_MASK if k in secret else v for k, v in params.items()}


@dataclass(frozen=True)
class Notify:
    """Command: tell the account's owner about an event (one delivery per channel)."""

    source_event_id: uuid.UUID
    account_id: str
    message_type: str
    params: Mapping[str, str] = field(default_factory=dict)
    # The request the source event belongs to: the outcome events carry it on.
    correlation_id: uuid.UUID | None = None
    language: str | None = None
    # Only for requested messages (one-time codes): the requester's channel and destination.
    channel: Channel | None = None
    destination: str | None = None
