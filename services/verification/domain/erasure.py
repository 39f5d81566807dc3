"""Erasure at cancellation (CAN-7): what verification forgets and what it keeps. Pure."""

from __future__ import annotations

from collections.abc import Iterable

# What stays after an erasure (VerificationDataErased.kept; the README names the columns).
KEPT = [
    "account id and its cancelled status (accounts, real_names: status, subject, method, "
    "verified_at)",
    "real-name history transitions without name, code or document (real_name_history)",
    "change requests' kind, state and decision without the enterprise's data (change_requests)",
    "recharge and remittance attempts' method, state and times without the enterprise, "
    "the bank account or the amount (enterprise_attempts)",
    "operator decisions without the values they quoted (operator_actions)",
]


def search_forms(values: Iterable[str]) -> list[str]:
    """Every form a value may have been copied in (as stored, lower and upper case),
    longest first so a replacement never leaves part of a longer form behind."""
    forms: set[str] = set()
    for value in values:
        value = value.strip()
        if value:
            forms.update({value, value.lower(), value.upper()})
    return sorted(forms, key=lambda f: (-len(f), f))
