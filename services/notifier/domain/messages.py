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
    # LOGIN-6: new_device, dormant (more than 30 days since the last login) or both
    trigger: str


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
class RealNameVerified(AboutAccount):
    """RN-16: the account proved its real name (the change's own notice)."""

    message_type = "real_name_verified"
    subject: str
    method: str
    at: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class RemittanceSent(AboutAccount):
    """RN-5: a small amount was sent to the enterprise's bank account; enter it in time."""

    message_type = "remittance_sent"
    bank_account: str  # masked: the last four digits only
    enter_by: str
    at: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class RealNameChangeApproved(AboutAccount):
    """RN-11: an operator approved the enterprise change; the new data applies at once (the
    change's own notice: no real_name_verified with it)."""

    message_type = "real_name_change_approved"
    change_id: str
    change_kind: str  # entity, name or legal_person
    reason: str  # the operator's note, or "-"; left out of the SMS (free text)
    at: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class RealNameChangeRejected(AboutAccount):
    """RN-11: an operator rejected the enterprise change; the old data stays."""

    message_type = "real_name_change_rejected"
    change_id: str
    change_kind: str  # entity, name or legal_person
    reason: str  # the operator's reason; left out of the SMS (free text)
    at: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class RealNameRecheckNotice(AboutAccount):
    """RN-13: the re-check found the enterprise deregistered or renamed; the account turns
    unverified at `downgrade_at` unless the registry agrees again by then."""

    message_type = "real_name_recheck_notice"
    reason: str  # entity_deregistered or registry_mismatch
    downgrade_at: str
    at: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class RealNameDowngraded(AboutAccount):
    """RN-13: after the notice's grace period the account turned unverified (the downgrade's
    own notice: no real_name_changed with it)."""

    message_type = "real_name_downgraded"
    reason: str  # entity_deregistered or registry_mismatch
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
    """CAN-6, CAN-8: the application was rejected; the reasons in words (their codes,
    comma-separated, turned into words by the template's language), and an operator's reason
    when an operator rejected it (free text: in the email only)."""

    message_type = "cancellation_rejected"
    application_id: str
    reasons: str  # reason codes, comma-separated: ARREARS,VOUCHERS
    at: str
    operator_reason: str  # "-" when none; left out of the SMS (free text)


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
class MfaBound(AboutAccount):
    message_type = "mfa_bound"
    at: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class MfaUnbound(AboutAccount):
    message_type = "mfa_unbound"
    by: str  # owner or operator
    at: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class MfaCodeReplayed(AboutAccount):
    message_type = "mfa_code_replayed"
    during: str  # login, step_up or operation
    at: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class ProtectionTurnedOff(AboutAccount):
    message_type = "protection_turned_off"
    protections: str  # login_protection, operation_protection or both, comma-separated
    at: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrustedDeviceAdded(AboutAccount):
    message_type = "trusted_device_added"
    device: str  # the client's label, or "-"; left out of the SMS (free text)
    trusted_until: str
    at: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class AppealReceived(AboutAccount):
    message_type = "appeal_received"
    appeal_id: str
    email: str
    reset_mfa: str  # yes or no
    at: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class AppealDecided(AboutAccount):
    """Routed to the secure channels, and requested by identity (NotificationRequested) for
    the appeal's new email, with the same parameters."""

    message_type = "appeal_decided"
    appeal_id: str
    decision: str  # approved or rejected
    reason: str  # the operator's reason, or "-"; left out of the SMS (free text)
    email: str
    at: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class VerificationCode(Message):
    """Requested by another service (NotificationRequested), which names the values."""

    message_type = "verification_code"
    code: str
    minutes: str
