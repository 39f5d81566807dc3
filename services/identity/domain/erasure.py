"""Erasure at cancellation (CAN-7, REG-5): what identity forgets of a person and what it
keeps for audit. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import phonenumbers

# What stays after an erasure (IdentityDataErased.kept; the README names the columns).
KEPT = [
    "account id, status and its timestamps (accounts: registered_at, cancelled_at, erased_at)",
    "login history without address or device (login_attempts: at, method, result, reason)",
    "operator decisions without email or phone (operator_actions; recovery_appeals: status, "
    "decided_at, decided_by, decision_reason)",
    "projects (name, description, enabled), never deleted (PRJ-1)",
]

# What an erased appeal's personal fields hold instead (the columns are NOT NULL).
ERASED = ""


@dataclass(frozen=True)
class PersonalData:
    """What identity holds that names the person behind one account: the values to erase
    wherever they were copied (operator notes, sent events), and what to end in Redis."""

    account_id: int
    emails: frozenset[str] = field(default_factory=frozenset)
    phones: frozenset[str] = field(default_factory=frozenset)  # E.164
    other_identifiers: frozenset[str] = field(default_factory=frozenset)  # UnionID, OpenID, ...
    login_email_key: str | None = None  # the lockout subject's identifier
    flow_ids: tuple[str, ...] = ()

    @property
    def destinations(self) -> frozenset[str]:
        """Where codes of this person may be live (emails and phones)."""
        return self.emails | self.phones

    def search_forms(self) -> list[str]:
        """Every form in which a value may have been copied into text: an email as typed and
        lower-cased, a phone in E.164 and as its national digits (the 11 digits of a mainland
        mobile). Longest first, so a replacement never leaves a longer form half-erased."""
        forms: set[str] = set(self.other_identifiers)
        for email in self.emails:
            forms.update({email, email.lower()})
        for phone in self.phones:
            forms.update(phone_forms(phone))
        return sorted((f for f in forms if f), key=lambda f: (-len(f), f))


@dataclass(frozen=True)
class Erased:
    """How many rows each table lost or had scrubbed (logged; no values)."""

    login_methods: int
    login_attempts: int
    auth_flows: int
    devices: int
    mfa_devices: int
    recovery_appeals: int
    operator_actions: int
    projects: int
    outbox: int


def phone_forms(e164: str) -> set[str]:
    """+8618112341234 -> {+8618112341234, 8618112341234, 18112341234}."""
    forms = {e164, e164.lstrip("+")}
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return forms
    forms.add(str(phonenumbers.national_significant_number(number)))
    return forms


def personal_data(
    account_id: int,
    *,
    channels: Iterable[str | None],
    methods: Iterable[tuple[str, str]],
    appeal_emails: Iterable[str],
    flow_ids: Iterable[str] = (),
) -> PersonalData:
    """Sort the account's values: `channels` (secure and contact phones and emails),
    `methods` (kind, identifier) of its login methods, the emails its appeals asked for."""
    emails: set[str] = set(appeal_emails)
    phones: set[str] = set()
    others: set[str] = set()
    login_email_key = None
    for value in channels:
        if value:
            (emails if "@" in value else phones).add(value)
    for kind, identifier in methods:
        if kind == "email":
            emails.add(identifier)
            login_email_key = identifier
        else:
            others.add(identifier)
    return PersonalData(
        account_id,
        emails=frozenset(e for e in emails if e),
        phones=frozenset(phones),
        other_identifiers=frozenset(others),
        login_email_key=login_email_key,
        flow_ids=tuple(flow_ids),
    )
