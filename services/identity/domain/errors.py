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

    def __init__(self, locked_until: datetime) -> None:
        super().__init__(
            f"Password login is locked until {locked_until.isoformat()}.",
            details={"locked_until": locked_until.isoformat()},
        )
        self.locked_until = locked_until


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
    code = "CODE_TOO_MANY_TRIES"


class CodeRateLimited(AppError):
    status_code = 429
    code = "CODE_RATE_LIMITED"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(
            f"Too many codes sent to this destination; retry in {retry_after_s} s.",
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
