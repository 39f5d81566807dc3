"""SEC-4 routing: which channel of an account a message category goes to. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from shared.events import Channel


class Category(StrEnum):
    SECURITY = "security"  # login anomalies, protection codes, cancellation, binding changes
    BILLING = "billing"  # billing and business alerts
    PRODUCT = "product"  # product notices, welcome


@dataclass(frozen=True)
class Contacts:
    """What the notifier knows of an account's channels (from identity.contacts)."""

    secure_phone: str | None = None
    secure_email: str | None = None
    message_phone: str | None = None
    contact_email: str | None = None
    language: str = "zh-CN"


def destination_for(category: Category, channel: Channel, contacts: Contacts) -> str | None:
    """The address a message of this category goes to on this channel, if the account has one.

    Security messages: the secure phone and the secure email. Billing and business alerts:
    the message-receiving phone (and the contact email). Product notices: the contact email.
    """
    if category is Category.SECURITY:
        return contacts.secure_phone if channel is Channel.SMS else contacts.secure_email
    if category is Category.BILLING:
        return contacts.message_phone if channel is Channel.SMS else contacts.contact_email
    return None if channel is Channel.SMS else contacts.contact_email


def reachable_channels(
    category: Category, channels: Iterable[Channel], contacts: Contacts
) -> list[Channel]:
    """The channels of a message this account can be reached on."""
    return [c for c in channels if destination_for(category, c, contacts) is not None]
