"""Each message type's template parameters, declared once: the fields of its class. Pure data.

The catalogue (`catalogue.py`) takes a type's parameters and their order from here (an SMS
provider's template takes them in that order); the subscribers build these classes from
events, so a missing or misspelt parameter fails type checking and construction, not a
template at sending time; `tests/unit/test_notifier_domain.py` checks that every template
uses only the parameters declared here. Values arrive masked and formatted (`when()`).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar


@dataclasses.dataclass(frozen=True, kw_only=True)
class Message:
    """The parameters of one message type (`message_type` names its templates)."""

    message_type: ClassVar[str]

    @classmethod
    def parameters(cls) -> tuple[str, ...]:
        """The parameter names, in the order the SMS provider's template takes them."""
        return tuple(f.name for f in dataclasses.fields(cls))

    def params(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in self.parameters()}


@dataclasses.dataclass(frozen=True, kw_only=True)
class AboutAccount(Message):
    account_id: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class Welcome(AboutAccount):
    message_type = "welcome"
    login: str  # the masked email, or the login method when there is none


@dataclasses.dataclass(frozen=True, kw_only=True)
class LoginMethodBound(AboutAccount):
    message_type = "login_method_bound"
    kind: str
    identifier: str
    at: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class LoginMethodUnbound(AboutAccount):
    message_type = "login_method_unbound"
    kind: str
    identifier: str
    at: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class LoginAnomaly(AboutAccount):
    message_type = "login_anomaly"
    method: str
    ip: str
    at: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class AccountLocked(AboutAccount):
    message_type = "account_locked"
    locked_until: str
    failures: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class PasswordChanged(AboutAccount):
    message_type = "password_changed"
    how: str
    at: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class SecurePhoneChanged(AboutAccount):
    message_type = "secure_phone_changed"
    phone: str
    previous: str
    at: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class SecureEmailChanged(AboutAccount):
    message_type = "secure_email_changed"
    email: str
    previous: str
    at: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class RealNameChanged(AboutAccount):
    message_type = "real_name_changed"
    status: str
    subject: str
    at: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class CancellationRequested(AboutAccount):
    message_type = "cancellation_requested"
    application_id: str
    cooling_off_ends_at: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class CancellationWithdrawn(AboutAccount):
    message_type = "cancellation_withdrawn"
    application_id: str
    at: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class CancellationRejected(AboutAccount):
    message_type = "cancellation_rejected"
    application_id: str
    reasons: str
    at: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class CancellationCompleted(AboutAccount):
    message_type = "cancellation_completed"
    application_id: str
    at: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class AccountFrozen(AboutAccount):
    message_type = "account_frozen"
    reasons: str
    at: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class VerificationCode(Message):
    """Requested by another service (NotificationRequested), which names the values."""

    message_type = "verification_code"
    code: str
    minutes: str
