"""Named refusals of the identity service; each has a stable code and HTTP status."""

from __future__ import annotations

from datetime import datetime

from shared.errors import AppError, Conflict, NotFound, ServiceUnavailable


class InvalidCredentials(AppError):
    status_code = 401
    code = "INVALID_CREDENTIALS"


class LoginLocked(AppError):
    """LOGIN-3: says until when, never whether the password was right."""

    status_code = 423
    code = "LOGIN_LOCKED"

    def __init__(self, locked_until: datetime, *, refusals: int = 0) -> None:
        super().__init__(
            f"Password login is locked until {locked_until.isoformat()}.",
            details={"locked_until": locked_until.isoformat(), "unlock_by": ["password_reset"]},
        )
        self.locked_until = locked_until
        # How many attempts this lock has refused so far (for the summarised history).
        self.refusals = refusals


class LoginLockedUntilReset(AppError):
    """NIST SP 800-63B 5.2.2: the account's budget of consecutive failures is spent."""

    status_code = 423
    code = "LOGIN_LOCKED_UNTIL_RESET"

    def __init__(self, *, refusals: int = 0) -> None:
        super().__init__(
            "Too many failed attempts: password login stays locked until the password is "
            "reset (a code to the secure phone or email) or support unlocks it.",
            details={"unlock_by": ["password_reset", "support"]},
        )
        self.refusals = refusals


class LoginThrottled(AppError):
    """Too many failed password checks from this client address, across accounts."""

    status_code = 429
    code = "LOGIN_THROTTLED"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(
            f"Too many failed logins from this address; retry in {retry_after_s} s.",
            details={"retry_after_s": retry_after_s},
        )
        self.retry_after_s = retry_after_s


class CaptchaRequired(AppError):
    status_code = 401
    code = "CAPTCHA_REQUIRED"


class CaptchaInvalid(AppError):
    status_code = 401
    code = "CAPTCHA_INVALID"


class CaptchaUnavailable(ServiceUnavailable):
    """Redis is down: a captcha ticket's single use cannot be checked, so it does not pass."""

    code = "CAPTCHA_UNAVAILABLE"


class LoginUnavailable(ServiceUnavailable):
    """Redis is down: password login fails closed."""

    code = "LOGIN_UNAVAILABLE"


class CodeInvalid(AppError):
    code = "CODE_INVALID"


class CodeExpired(AppError):
    code = "CODE_EXPIRED"


class CodeTooManyTries(AppError):
    """CODE-1: the code's wrong tries are spent; it stays void (this answer) until it expires."""

    code = "CODE_TOO_MANY_TRIES"


_RATE_LIMITED = {
    "destination": "Too many codes sent to this destination",
    "identifier": "Too many password resets asked for this email",
    "client": "Too many codes asked for from your network",
    "prefix": "Too many codes sent to numbers like this one",
    "global": "Too many text messages are being sent right now",
}


class CodeRateLimited(AppError):
    """CODE-2: a send budget is spent; `details.scope` says which one."""

    status_code = 429
    code = "CODE_RATE_LIMITED"

    def __init__(self, retry_after_s: int, *, scope: str = "destination") -> None:
        super().__init__(
            f"{_RATE_LIMITED.get(scope, 'Too many codes')}; retry in {retry_after_s} s.",
            details={"retry_after_s": retry_after_s, "scope": scope},
        )
        self.retry_after_s = retry_after_s
        self.scope = scope


class CodeTriesExhausted(AppError):
    """CODE-1: the destination's wrong tries of the day are spent, across all its codes."""

    status_code = 429
    code = "CODE_TRIES_EXHAUSTED"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(
            "Too many wrong codes for this destination today: no new code can be tried "
            f"before {retry_after_s} s from now. Verify with another channel if you have one.",
            details={"retry_after_s": retry_after_s},
        )
        self.retry_after_s = retry_after_s


class AccountNotFound(NotFound):
    code = "ACCOUNT_NOT_FOUND"


class IdentifierTaken(Conflict):
    code = "IDENTIFIER_TAKEN"


class AccountChoiceRequired(Conflict):
    """One WeChat person may manage up to 50 accounts: say which one."""

    code = "ACCOUNT_CHOICE_REQUIRED"


class NotRegistered(NotFound):
    code = "LOGIN_METHOD_NOT_REGISTERED"


class LoginRefused(AppError):
    status_code = 403
    code = "ACCOUNT_CANCELLED"


class SecurePhoneQuotaExceeded(Conflict):
    """SEC-1: one phone guards at most N accounts."""

    code = "SECURE_PHONE_QUOTA_EXCEEDED"


class MissingField(AppError):
    code = "FIELD_REQUIRED"


def require(value: str | None, field: str) -> str:
    """A field the chosen method needs (the request shapes keep them optional)."""
    if not value:
        raise MissingField(f"`{field}` is required for this method.", details={"field": field})
    return value


class PermissionsIncomplete(AppError):
    """LM-9: the Official Account authorization lacks the account-service permission."""

    status_code = 403
    code = "PERMISSIONS_INCOMPLETE"


class AuthorizationRevoked(AppError):
    """LM-9: the user revoked our authorization on the WeChat side."""

    status_code = 403
    code = "AUTHORIZATION_REVOKED"


class NoPassword(AppError):
    """PWD-1: passwords belong to accounts that log in by email."""

    code = "PASSWORD_NOT_APPLICABLE"


class SecureEmailProofRequired(AppError):
    """SEC-3: ownership of the old secure email must be proven too."""

    code = "OLD_SECURE_EMAIL_PROOF_REQUIRED"


class NoSuchChannel(AppError):
    """PROT-2: the account has no secure channel of that kind; pick the alternative."""

    code = "VERIFICATION_CHANNEL_UNAVAILABLE"


class RefreshTokenInvalid(AppError):
    """Unknown, malformed or ended: the session cannot be refreshed."""

    status_code = 401
    code = "REFRESH_TOKEN_INVALID"


class RefreshTokenReused(AppError):
    """A rotated refresh token came back: someone holds a copy, so the session ended."""

    status_code = 401
    code = "REFRESH_TOKEN_REUSED"


class FlowNotFound(NotFound):
    code = "FLOW_NOT_FOUND"


class FlowExpired(AppError):
    status_code = 410
    code = "FLOW_EXPIRED"


class FlowCompleted(Conflict):
    code = "FLOW_ALREADY_COMPLETED"


class FlowFailed(AppError):
    """Too many wrong second factors on one flow: it is closed."""

    status_code = 403
    code = "FLOW_FAILED"


class FactorUnavailable(AppError):
    status_code = 409
    code = "FACTOR_UNAVAILABLE"


class DeviceNotFound(NotFound):
    code = "DEVICE_NOT_FOUND"


class CodeChannelUnsupported(AppError):
    """A purpose whose code means something on one channel only (REC-1: a phone, REC-2: an
    email); `details.channel` names it."""

    code = "CODE_CHANNEL_UNSUPPORTED"


class AppealNotFound(NotFound):
    code = "APPEAL_NOT_FOUND"


class AppealPending(Conflict):
    """REC-2: one pending appeal per account."""

    code = "APPEAL_PENDING"


class AppealAlreadyDecided(Conflict):
    """REC-2: an appeal is decided once."""

    code = "APPEAL_ALREADY_DECIDED"


class AppealAccountClosed(Conflict):
    """REC-2: the account was cancelled after the appeal was filed: it can only be rejected."""

    code = "APPEAL_ACCOUNT_CANCELLED"


class AppealStatementRequired(AppError):
    """REC-2: the applicant says why the account is theirs (the operator reviews it)."""

    code = "APPEAL_STATEMENT_REQUIRED"


class DecisionReasonRequired(AppError):
    """REC-2: a rejection says why (the applicant reads it)."""

    code = "DECISION_REASON_REQUIRED"


class VerificationRequired(AppError):
    """PROT-1/PROT-2: a protected operation without a proof or a fresh step-up."""

    status_code = 403
    code = "VERIFICATION_REQUIRED"


class MfaAlreadyBound(Conflict):
    """MFA-1: one device per account; unbind it before binding another."""

    code = "MFA_ALREADY_BOUND"


class MfaNotBound(Conflict):
    """The account has no (active, or pending for a confirmation) MFA device."""

    code = "MFA_NOT_BOUND"


class TotpInvalid(AppError):
    """A TOTP code that is not the device's code of this moment (one step either way)."""

    code = "TOTP_INVALID"


class TotpReplayed(AppError):
    """MFA-3: this code (or a newer one) was already used; wait for the next code."""

    code = "TOTP_REPLAYED"


class MfaUnavailable(ServiceUnavailable):
    """Redis cannot tell which codes were used, or the secret's key is not in the key ring:
    TOTP checks fail closed."""

    code = "MFA_UNAVAILABLE"
