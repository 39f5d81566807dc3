"""PWD-1: the password policy. Pure: a password in, the rules it breaks out."""

from __future__ import annotations

import string

from shared.errors import AppError

MIN_LENGTH = 8
MAX_LENGTH = 20
SPECIALS = frozenset(string.punctuation)

# (code, message) per rule, in the order they are reported.
RULES: dict[str, str] = {
    "PASSWORD_TOO_SHORT": f"At least {MIN_LENGTH} characters.",
    "PASSWORD_TOO_LONG": f"At most {MAX_LENGTH} characters.",
    "PASSWORD_HAS_SPACE": "No spaces or other whitespace.",
    "PASSWORD_NOT_PRINTABLE": "Only printable ASCII letters, digits and symbols.",
    "PASSWORD_NEEDS_UPPERCASE": "At least one uppercase letter.",
    "PASSWORD_NEEDS_LOWERCASE": "At least one lowercase letter.",
    "PASSWORD_NEEDS_DIGIT": "At least one digit.",
    "PASSWORD_NEEDS_SPECIAL": "At least one special character, e.g. !@#$%^&().",
    "PASSWORD_EQUALS_EMAIL": "Must not be the account's email.",
}


class PasswordPolicyViolation(AppError):
    """The first broken rule is the code; details list every broken rule."""

    def __init__(self, violations: list[str]) -> None:
        self.code = violations[0]
        super().__init__(
            RULES[violations[0]],
            details={"violations": [{"code": v, "message": RULES[v]} for v in violations]},
        )


def violations(password: str, *, email: str | None = None) -> list[str]:
    """Every PWD-1 rule the password breaks (empty when it is acceptable)."""
    broken: list[str] = []
    if len(password) < MIN_LENGTH:
        broken.append("PASSWORD_TOO_SHORT")
    if len(password) > MAX_LENGTH:
        broken.append("PASSWORD_TOO_LONG")
    if any(c.isspace() for c in password):
        broken.append("PASSWORD_HAS_SPACE")
    if any(not c.isspace() and (not c.isascii() or not c.isprintable()) for c in password):
        broken.append("PASSWORD_NOT_PRINTABLE")
    if not any(c.isascii() and c.isupper() for c in password):
        broken.append("PASSWORD_NEEDS_UPPERCASE")
    if not any(c.isascii() and c.islower() for c in password):
        broken.append("PASSWORD_NEEDS_LOWERCASE")
    if not any(c.isascii() and c.isdigit() for c in password):
        broken.append("PASSWORD_NEEDS_DIGIT")
    if not any(c in SPECIALS for c in password):
        broken.append("PASSWORD_NEEDS_SPECIAL")
    if email is not None and password.casefold() == email.casefold():
        broken.append("PASSWORD_EQUALS_EMAIL")
    return broken


def check_password(password: str, *, email: str | None = None) -> None:
    """Raise PasswordPolicyViolation unless the password meets PWD-1."""
    broken = violations(password, email=email)
    if broken:
        raise PasswordPolicyViolation(broken)
