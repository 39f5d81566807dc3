"""CODE-1, CODE-2: what a code is for, and the budgets a send spends. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.events import Channel


class CodePurpose(StrEnum):
    REGISTER = "register"
    BIND_EMAIL = "bind_email"
    VERIFY_IDENTITY = "verify_identity"
    SECOND_FACTOR = "second_factor"  # LOGIN-5 / PROT-2: a login or step-up flow's code
    RESET_PASSWORD = "reset_password"
    CHANGE_SECURE_PHONE = "change_secure_phone"
    CHANGE_SECURE_EMAIL = "change_secure_email"
    CONTACT_EMAIL = "contact_email"
    MESSAGE_PHONE = "message_phone"
    FIND_ACCOUNTS = "find_accounts"  # REC-1: prove a phone to list the accounts it guards
    APPEAL_EMAIL = "appeal_email"  # REC-2: prove the email a recovery appeal asks to bind


class PurposeClass(StrEnum):
    """Purposes that share a destination's send and try budgets (CODE-2).

    `new`: a destination nobody has proven yet, asked for by anyone who solved a captcha.
    `reset`: an account's secure channel, asked for by whoever knows its login email.
    `verify`: an account's secure channel, asked for by its logged-in owner.
    Each class has budgets of its own, so nine anonymous register codes to a phone cannot
    spend the budget its owner needs to reset a password or prove who they are.
    """

    NEW = "new"
    RESET = "reset"
    VERIFY = "verify"


# Purposes whose code can only mean something on one channel (REC-1 proves a phone, REC-2 an
# email); the others take the channel the caller names.
FIXED_CHANNEL: dict[CodePurpose, Channel] = {
    CodePurpose.FIND_ACCOUNTS: Channel.SMS,
    CodePurpose.APPEAL_EMAIL: Channel.EMAIL,
}


def purpose_class(purpose: CodePurpose) -> PurposeClass:
    if purpose is CodePurpose.RESET_PASSWORD:
        return PurposeClass.RESET
    if purpose in (CodePurpose.VERIFY_IDENTITY, CodePurpose.SECOND_FACTOR):
        return PurposeClass.VERIFY
    return PurposeClass.NEW


@dataclass(frozen=True)
class Budget:
    """At most `limit` sends per `window_s` (opening at the first) for one subject."""

    scope: str  # what the budget is of, as the refusal names it: client, prefix, global, ...
    subject: str  # whom it counts (an IP, a number prefix, ...); stored only as an HMAC
    limit: int
    window_s: int


def number_prefix(e164: str, digits: int) -> str:
    """The first `digits` digits of an E.164 number: SMS pumping walks a number range."""
    return e164.lstrip("+")[:digits]
