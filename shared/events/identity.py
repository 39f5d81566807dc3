"""Events the identity service publishes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from shared.events.envelope import EventPayload


class LoginMethodKind(StrEnum):
    """LM-1: the kinds of login method."""

    WECHAT = "wechat"
    QQ = "qq"
    EMAIL = "email"
    WECOM = "wecom"
    OFFICIAL_ACCOUNT = "official_account"


class AccountRegistered(EventPayload):
    """A new account exists (ACC-1); its first login method is the one it registered with."""

    event_type = "AccountRegistered"

    registered_at: datetime = Field(description="Registration time, UTC.")
    method: LoginMethodKind = Field(description="Registration method.", examples=["email"])
    email_masked: str | None = Field(
        default=None, description="Login email, masked.", examples=["a***@example.com"]
    )
    language: str = Field(default="zh-CN", description="Preferred language.", examples=["en"])


class LoginMethodBound(EventPayload):
    """A login method was bound to an account (LM-11)."""

    event_type = "LoginMethodBound"

    kind: LoginMethodKind = Field(description="Kind of login method.", examples=["wechat"])
    identifier_masked: str = Field(
        description="The method's identifier, masked.", examples=["o6_b***Nw"]
    )
    bound_at: datetime = Field(description="When, UTC.")


class LoginMethodUnbound(EventPayload):
    """A login method was unbound from an account (LM-11)."""

    event_type = "LoginMethodUnbound"

    kind: LoginMethodKind = Field(description="Kind of login method.", examples=["qq"])
    identifier_masked: str = Field(description="The method's identifier, masked.")
    unbound_at: datetime = Field(description="When, UTC.")


class AccountContacts(EventPayload):
    """The channels an account is reached on (SEC-4), on the compacted identity.contacts topic.

    This is a state record, not a notice: the latest value per account wins and a tombstone
    erases it. It carries destinations in clear because the notifier needs them to route; the
    topic is readable by the notifier only.
    """

    event_type = "AccountContacts"

    secure_phone: str | None = Field(default=None, description="Secure phone, E.164.")
    secure_email: str | None = Field(default=None, description="Secure email.")
    message_phone: str | None = Field(
        default=None, description="Message-receiving phone (billing and business alerts), E.164."
    )
    contact_email: str | None = Field(default=None, description="Contact email (product notices).")
    language: str = Field(default="zh-CN", description="Preferred language.", examples=["en"])
