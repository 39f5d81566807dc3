"""SEC-5: phone numbers and emails, validated and normalised. Pure."""

from __future__ import annotations

import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from shared.errors import AppError


class InvalidEmail(AppError):
    code = "EMAIL_INVALID"


class InvalidPhone(AppError):
    code = "PHONE_INVALID"


class PhoneNotMobile(AppError):
    """CODE-2: codes and messages go by SMS only to mobile numbers (no premium rate, no
    toll-free, shared-cost, VoIP or fixed line): SMS pumping lives on the others."""

    code = "PHONE_NOT_MOBILE"


_MOBILE = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}


def normalise_email(raw: str, *, field: str = "email") -> str:
    """Syntax-checked, IDNA-aware; the domain lower-cased, the local part kept."""
    try:
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidEmail(f"Not a valid email address: {exc}", details={"field": field}) from None


def email_key(email: str) -> str:
    """What makes two normalised emails the same login identifier and code destination.

    email-validator's form (IDNA domain, lower-cased; NFC local part), NFC again, and the
    local part lower-cased by the simple one-to-one mapping (`str.lower`): `Ann@` and `ann@`
    are one mailbox in practice. Never full case folding: it maps `ß` to `ss` and so would
    merge `straße@` and `strasse@`, two mailboxes that belong to different people.
    """
    local, _, domain = email.rpartition("@")
    return unicodedata.normalize("NFC", f"{local.lower()}@{domain.lower()}")


def login_key(raw: str, *, field: str = "email") -> str:
    """The login identifier a typed email stands for; EMAIL_INVALID when it is none."""
    return email_key(normalise_email(raw.strip(), field=field))


def normalise_phone(raw: str, *, field: str = "phone", region: str = "CN") -> str:
    """E.164; numbers without a country code are read as mainland China numbers."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"Not a phone number: {exc}", details={"field": field}) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("Not a valid phone number.", details={"field": field})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_mobile(raw: str, *, field: str = "phone", region: str = "CN") -> str:
    """E.164 of a number that can receive SMS; PHONE_NOT_MOBILE names the number's type."""
    e164 = normalise_phone(raw, field=field, region=region)
    kind = phonenumbers.number_type(phonenumbers.parse(e164))
    if kind not in _MOBILE:
        raise PhoneNotMobile(
            "Codes and messages go only to mobile numbers; this one is not a mobile number.",
            details={"field": field, "number_type": phonenumbers.PhoneNumberType.to_string(kind)},
        )
    return e164
