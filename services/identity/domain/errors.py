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
