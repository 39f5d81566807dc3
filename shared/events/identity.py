"""Events the identity service publishes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints

from shared.events.envelope import ClosedPayload, EventPayload
from shared.events.topics import Topic

# Shapes of the destinations a snapshot carries: a value of another shape is refused, not
# stored and tried on a provider later.
E164 = Annotated[str, StringConstraints(pattern=r"^\+[1-9][0-9]{6,14}$")]
Email = Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
Language = Annotated[str, StringConstraints(min_length=2, max_length=35)]


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
    topic = Topic.IDENTITY_EVENTS

    registered_at: datetime = Field(description="Registration time, UTC.")
    method: LoginMethodKind = Field(description="Registration method.", examples=["email"])
    email_masked: str | None = Field(
        default=None, description="Login email, masked.", examples=["a***@example.com"]
    )
    language: str = Field(default="zh-CN", description="Preferred language.", examples=["en"])


class LoginMethodBound(EventPayload):
    """A login method was bound to an account (LM-11)."""

    event_type = "LoginMethodBound"
    topic = Topic.IDENTITY_EVENTS

    kind: LoginMethodKind = Field(description="Kind of login method.", examples=["wechat"])
    identifier_masked: str = Field(
        description="The method's identifier, masked.", examples=["o6_b***Nw"]
    )
    bound_at: datetime = Field(description="When, UTC.")


class LoginMethodUnbound(EventPayload):
    """A login method was unbound from an account (LM-11)."""

    event_type = "LoginMethodUnbound"
    topic = Topic.IDENTITY_EVENTS

    kind: LoginMethodKind = Field(description="Kind of login method.", examples=["qq"])
    identifier_masked: str = Field(description="The method's identifier, masked.")
    unbound_at: datetime = Field(description="When, UTC.")


class AccountContacts(ClosedPayload):
    """The channels an account is reached on (SEC-4), on the compacted identity.contacts topic.

    This is a state record, not a notice: the latest value per account wins and a tombstone
    erases it. It carries destinations in clear because the notifier needs them to route; the
    topic is readable by the notifier only.

    A snapshot: every field is required and a channel the account does not have is an
    explicit null, so a misspelt or missing field is refused (dead-lettered) instead of
    blanking that channel in the notifier.
    """

    event_type = "AccountContacts"
    snapshot = True
    topic = Topic.IDENTITY_CONTACTS

    secure_phone: E164 | None = Field(
        description="Secure phone, E.164; null when none is bound.", examples=["+8618112341234"]
    )
    secure_email: Email | None = Field(
        description="Secure email; null when none is bound.", examples=["alice@example.com"]
    )
    message_phone: E164 | None = Field(
        description="Message-receiving phone (billing and business alerts), E.164; null when "
        "none is set.",
        examples=["+8613900000001"],
    )
    contact_email: Email | None = Field(
        description="Contact email (product notices); null when none is set.",
        examples=["ops@example.com"],
    )
    language: Language = Field(description="Preferred language.", examples=["en"])


class AccountStatus(StrEnum):
    """ACC-3: what other services must see of an account."""

    ACTIVE = "active"
    FROZEN = "frozen"
    CANCELLED = "cancelled"


class AccountStatusChanged(EventPayload):
    """An account was frozen, unfrozen or cancelled (ACC-3)."""

    event_type = "AccountStatusChanged"
    topic = Topic.IDENTITY_EVENTS

    status: AccountStatus = Field(description="New status.", examples=["frozen"])
    frozen_reasons: list[str] = Field(
        default_factory=list,
        description="Why it is frozen: violation, real_name_failed, overdue, pending_cancellation.",
        examples=[["pending_cancellation"]],
    )
    changed_at: datetime = Field(description="When, UTC.")


class LoginSucceeded(EventPayload):
    """A login completed (LOGIN-8)."""

    event_type = "LoginSucceeded"
    topic = Topic.IDENTITY_EVENTS

    method: str = Field(description="password, wechat, qq, wecom or official_account.")
    device_id: str | None = Field(default=None, description="Client-supplied device id.")
    ip: str | None = Field(default=None, description="Client IP address.")
    new_device: bool = Field(
        default=False,
        description="LOGIN-6: the device presented no credential identity issued to it for "
        "this account (a first login from it).",
    )
    at: datetime = Field(description="When, UTC.")
    dormant: bool = Field(
        default=False,
        description="The account's previous login was more than 30 days before this one "
        "(LOGIN-6); false for a first login.",
    )
    second_factor: str | None = Field(
        default=None,
        description="LOGIN-5: the second factor that completed the login (totp, sms or "
        "email); null when none was asked.",
    )


class LoginFailed(EventPayload):
    """A login attempt on an existing account failed (LOGIN-8)."""

    event_type = "LoginFailed"
    topic = Topic.IDENTITY_EVENTS

    method: str = Field(description="password, wechat, qq, wecom or official_account.")
    device_id: str | None = Field(default=None, description="Client-supplied device id.")
    ip: str | None = Field(default=None, description="Client IP address.")
    reason: str = Field(
        description="Stable reason code.", examples=["INVALID_CREDENTIALS", "LOGIN_LOCKED"]
    )
    at: datetime = Field(description="When, UTC.")
    attempts: int = Field(
        default=1,
        description="Attempts this record stands for: refusals while locked are summarised "
        "(one record at the 1st, 2nd, 4th, 8th... refusal of a lock, each counting those "
        "since the previous one).",
        examples=[1, 4],
    )


class AccountLocked(EventPayload):
    """Password login was locked after too many failures (LOGIN-2)."""

    event_type = "AccountLocked"
    topic = Topic.IDENTITY_EVENTS

    locked_until: datetime = Field(description="When password login opens again, UTC.")
    failures: int = Field(description="Failed attempts counted.", examples=[10])
    at: datetime = Field(description="When, UTC.")
    until_reset: bool = Field(
        default=False,
        description="The budget of consecutive failures is spent: the lock lasts past "
        "locked_until, until a password reset or an operator lifts it.",
    )
    notify_owner: bool = Field(
        default=True,
        description="Whether the owner is told (lock notices are rate-limited per account).",
    )


class PasswordChanged(EventPayload):
    """The password was changed or reset (PWD-2, PWD-3)."""

    event_type = "PasswordChanged"
    topic = Topic.IDENTITY_EVENTS

    how: str = Field(description="change or reset.", examples=["reset"])
    at: datetime = Field(description="When, UTC.")


class SecurePhoneChanged(EventPayload):
    """The secure phone was bound or changed (SEC-2)."""

    event_type = "SecurePhoneChanged"
    topic = Topic.IDENTITY_EVENTS

    phone_masked: str = Field(description="New secure phone, masked.", examples=["+86 181****1234"])
    previous_masked: str | None = Field(default=None, description="Previous one, masked.")
    at: datetime = Field(description="When, UTC.")


class SecureEmailChanged(EventPayload):
    """The secure email was bound or changed (SEC-3)."""

    event_type = "SecureEmailChanged"
    topic = Topic.IDENTITY_EVENTS

    email_masked: str = Field(description="New secure email, masked.", examples=["a***@x.com"])
    previous_masked: str | None = Field(default=None, description="Previous one, masked.")
    at: datetime = Field(description="When, UTC.")


class MfaUnboundBy(StrEnum):
    """Who unbound an MFA device: its owner (after verification, MFA-2) or an operator after
    a manual review (MFA-4)."""

    OWNER = "owner"
    OPERATOR = "operator"


class MfaCodeUse(StrEnum):
    """What a TOTP code was presented for."""

    LOGIN = "login"
    STEP_UP = "step_up"
    OPERATION = "operation"


class Protection(StrEnum):
    """PROT-1: the account's protection settings."""

    LOGIN = "login_protection"
    OPERATION = "operation_protection"


class MfaBound(EventPayload):
    """A virtual MFA device was bound: its first code was proven (MFA-1, MFA-2). The secret
    never leaves identity."""

    event_type = "MfaBound"
    topic = Topic.IDENTITY_EVENTS

    bound_at: datetime = Field(description="When, UTC.")


class MfaUnbound(EventPayload):
    """The MFA device was unbound, by its owner or by an operator (MFA-2, MFA-4)."""

    event_type = "MfaUnbound"
    topic = Topic.IDENTITY_EVENTS

    by: MfaUnboundBy = Field(description="owner or operator.", examples=["operator"])
    unbound_at: datetime = Field(description="When, UTC.")


class MfaCodeReplayed(EventPayload):
    """A TOTP code that had already been used was presented again and refused (MFA-3): the
    code is not in the event."""

    event_type = "MfaCodeReplayed"
    topic = Topic.IDENTITY_EVENTS

    at: datetime = Field(description="When, UTC.")
    during: MfaCodeUse = Field(
        description="What the code was presented for: login, step_up or operation.",
        examples=["login"],
    )


class ProtectionChanged(EventPayload):
    """Login or operation protection was changed (PROT-1): the settings before and after, so
    a consumer can tell what was turned on or off."""

    event_type = "ProtectionChanged"
    topic = Topic.IDENTITY_EVENTS

    login_protection: bool = Field(description="Login protection now (LOGIN-5).")
    operation_protection: bool = Field(description="Operation protection now.")
    login_protection_was: bool = Field(description="Login protection before the change.")
    operation_protection_was: bool = Field(description="Operation protection before the change.")
    changed_at: datetime = Field(description="When, UTC.")

    def turned_off(self) -> list[Protection]:
        """The protections this change turned off, login first."""
        off = []
        if self.login_protection_was and not self.login_protection:
            off.append(Protection.LOGIN)
        if self.operation_protection_was and not self.operation_protection:
            off.append(Protection.OPERATION)
        return off


class TrustedDeviceAdded(EventPayload):
    """A device was trusted: logins from it skip the second factor until `trusted_until`
    (LOGIN-5)."""

    event_type = "TrustedDeviceAdded"
    topic = Topic.IDENTITY_EVENTS

    device_label: str | None = Field(
        default=None,
        max_length=64,
        description="The device's label as the client named it, if any (never its credential).",
        examples=["Firefox on Linux"],
    )
    trusted_until: datetime = Field(description="When the trust ends, UTC.")
    at: datetime = Field(description="When, UTC.")


class AppealReceived(EventPayload):
    """A recovery appeal was filed for the account (REC-2): someone asks to bind a new email
    as a login method, perhaps with an MFA reset; an operator decides."""

    event_type = "AppealReceived"
    topic = Topic.IDENTITY_EVENTS

    appeal_id: str = Field(description="Id of the appeal.")
    email_masked: str = Field(
        description="The email the appeal asks to bind, masked.", examples=["a***@example.com"]
    )
    reset_mfa: bool = Field(description="Whether the appeal asks to unbind the MFA device.")
    at: datetime = Field(description="When, UTC.")


class AppealDecided(EventPayload):
    """An operator approved or rejected a recovery appeal (REC-2); on approval the email is
    bound (LoginMethodBound follows) and, when asked, the MFA device unbound."""

    event_type = "AppealDecided"
    topic = Topic.IDENTITY_EVENTS

    appeal_id: str = Field(description="Id of the appeal.")
    approved: bool = Field(description="Approved (true) or rejected (false).")
    reason: str | None = Field(
        default=None,
        max_length=500,
        description="The operator's reason, shown to the applicant.",
        examples=["The documents do not match the account's real-name information."],
    )
    email_masked: str = Field(
        description="The email the appeal asked to bind, masked.", examples=["a***@example.com"]
    )
    decided_at: datetime = Field(description="When, UTC.")
