"""Account rules that need no I/O: what a registration request must satisfy."""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from shared.errors import AppError

SUPPORTED_LANGUAGES = frozenset({"zh-CN", "en"})


class InvalidEmail(AppError):
    code = "EMAIL_INVALID"


class UnsupportedLanguage(AppError):
    code = "LANGUAGE_UNSUPPORTED"


@dataclass(frozen=True)
class EmailRegistration:
    """A validated request to register by email."""

    email: str
    language: str


def normalise_email(raw: str) -> str:
    """SEC-5: syntax-checked, IDNA-aware; the domain lower-cased, the local part kept."""
    try:
        result = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(
            f"Not a valid email address: {exc}", details={"field": "email"}
        ) from None
    return result.normalized


def email_registration(email: str, language: str) -> EmailRegistration:
    if language not in SUPPORTED_LANGUAGES:
        raise UnsupportedLanguage(
            f"Language must be one of {sorted(SUPPORTED_LANGUAGES)}.", details={"field": "language"}
        )
    return EmailRegistration(email=normalise_email(email), language=language)
