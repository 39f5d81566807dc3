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
