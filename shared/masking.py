"""Masking of personal data for events, replies and logs."""

from __future__ import annotations


def mask_email(email: str) -> str:
    """alice@example.com -> a***@example.com"""
    local, _, domain = email.partition("@")
    if not domain:
        return "***"
    return f"{local[:1]}***@{domain}"


def mask_phone(phone: str) -> str:
    """+8618112341234 -> +86 181****1234 (E.164 in, country code kept when known)."""
    digits = phone.lstrip("+")
    if phone.startswith("+86") and len(digits) == 13:
        return f"+86 {digits[2:5]}****{digits[-4:]}"
    if len(digits) <= 7:
        return "****"
    return f"+{digits[:-8]}****{digits[-4:]}" if phone.startswith("+") else "****" + digits[-4:]


def mask_identifier(value: str) -> str:
    """An opaque identifier (UnionID, OpenID, QQ number): first and last two characters."""
    if len(value) <= 4:
        return "***"
    return f"{value[:2]}***{value[-2:]}"
