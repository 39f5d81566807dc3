"""The message catalogue: every message the notifier sends, its SEC-4 category, its channels
and its template parameters. Pure data; a test renders every entry in both languages."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from services.notifier.domain.routing import Category
from shared.events import Channel

BOTH = (Channel.SMS, Channel.EMAIL)
EMAIL_ONLY = (Channel.EMAIL,)
SECRET_MASK = "******"
BINDING = ("account_id", "kind", "identifier", "at")


@dataclass(frozen=True)
class MessageKind:
    """One message type. `params` is the template's parameters, in the order an SMS provider's
    template takes them; `secret` names the ones scrubbed from the record once it is sent."""

    message_type: str
    category: Category
    channels: tuple[Channel, ...]
    params: tuple[str, ...]
    secret: frozenset[str] = frozenset()
    # The requester names channel and destination (one-time codes); SEC-4 does not route it.
    requested: bool = False


def _kind(
    message_type: str,
    category: Category,
    channels: tuple[Channel, ...],
    *params: str,
    secret: frozenset[str] = frozenset(),
    requested: bool = False,
) -> tuple[str, MessageKind]:
    return message_type, MessageKind(message_type, category, channels, params, secret, requested)


CATALOGUE: dict[str, MessageKind] = dict(
    [
        _kind("welcome", Category.PRODUCT, EMAIL_ONLY, "account_id", "login"),
        _kind("login_method_bound", Category.SECURITY, BOTH, *BINDING),
        _kind("login_method_unbound", Category.SECURITY, BOTH, *BINDING),
        _kind("login_anomaly", Category.SECURITY, BOTH, "account_id", "method", "ip", "at"),
        _kind("account_locked", Category.SECURITY, BOTH, "account_id", "locked_until", "failures"),
        _kind("password_changed", Category.SECURITY, BOTH, "account_id", "how", "at"),
        _kind(
            "secure_phone_changed", Category.SECURITY, BOTH, "account_id", "phone", "previous", "at"
        ),
        _kind(
            "secure_email_changed", Category.SECURITY, BOTH, "account_id", "email", "previous", "at"
        ),
        _kind(
            "real_name_changed", Category.SECURITY, BOTH, "account_id", "status", "subject", "at"
        ),
        _kind(
            "cancellation_requested",
            Category.SECURITY,
            BOTH,
            "account_id",
            "application_id",
            "cooling_off_ends_at",
        ),
        _kind(
            "cancellation_withdrawn", Category.SECURITY, BOTH, "account_id", "application_id", "at"
        ),
        _kind(
            "cancellation_rejected",
            Category.SECURITY,
            BOTH,
            "account_id",
            "application_id",
            "reasons",
            "at",
        ),
        _kind(
            "cancellation_completed", Category.SECURITY, BOTH, "account_id", "application_id", "at"
        ),
        _kind("account_frozen", Category.BILLING, BOTH, "account_id", "reasons", "at"),
        _kind(
            "verification_code",
            Category.SECURITY,
            BOTH,
            "code",
            "minutes",
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
