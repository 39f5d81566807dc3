"""SEC-5: phone numbers and emails, validated and normalised. Pure."""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from shared.errors import AppError


class InvalidEmail(AppError):
    code = "EMAIL_INVALID"


class InvalidPhone(AppError):
    code = "PHONE_INVALID"


def normalise_email(raw: str, *, field: str = "email") -> str:
    """Syntax-checked, IDNA-aware; the domain lower-cased, the local part kept."""
    try:
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidEmail(f"Not a valid email address: {exc}", details={"field": field}) from None


def email_key(email: str) -> str:
    """What makes two emails the same login identifier (case-insensitive)."""
    return email.casefold()


def normalise_phone(raw: str, *, field: str = "phone", region: str = "CN") -> str:
    """E.164; numbers without a country code are read as mainland China numbers."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"Not a phone number: {exc}", details={"field": field}) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("Not a valid phone number.", details={"field": field})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
