"""TOTP (MFA-1): RFC 6238 with 6 digits, a 30-second step and HMAC-SHA-1, as every
authenticator app reads an `otpauth://` URI; one step of clock drift either way.

Pure: the caller gives the time, keeps the secret encrypted (MFA-6) and claims the matched
step once (MFA-3).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime

import pyotp

DIGITS = 6
STEP_S = 30
DRIFT_STEPS = 1  # MFA-1: the step before and the step after are accepted too
SECRET_BYTES = 20  # RFC 4226 section 4: 160 bits, the length of an HMAC-SHA-1 key

_WELL_FORMED = re.compile(r"[0-9]{6}")


def new_secret() -> str:
    """A random base32 secret (160 bits from the OS's CSPRNG)."""
    return pyotp.random_base32(length=SECRET_BYTES * 8 // 5)


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=DIGITS, digest=hashlib.sha1, interval=STEP_S)


def step_at(at: datetime) -> int:
    """The RFC 6238 time step `at` falls in (T0 = the Unix epoch)."""
    return int(at.timestamp()) // STEP_S


def code_for_step(secret: str, step: int) -> str:
    """The code of one time step (HOTP of the step counter, RFC 4226)."""
    return _totp(secret).generate_otp(step)


def code_at(secret: str, at: datetime) -> str:
    """The code an authenticator shows at `at`."""
    return code_for_step(secret, step_at(at))


def well_formed(code: str) -> bool:
    """Six ASCII digits: anything else is bad input, refused before any counting."""
    return _WELL_FORMED.fullmatch(code) is not None


def matching_step(secret: str, code: str, at: datetime) -> int | None:
    """The step in [-1, 0, +1] around `at` whose code is `code`, or None.

    Every candidate is compared, each in constant time, so the time taken says nothing about
    which step (if any) matched."""
    if not well_formed(code):
        return None
    current = step_at(at)
    matched: int | None = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(code_for_step(secret, step).encode(), code.encode()):
            matched = step if matched is None else matched
    return matched


def otpauth_uri(secret: str, *, account_name: str, issuer: str) -> str:
    """The `otpauth://totp/...` URI (Google Authenticator's key URI format) an app scans."""
    return _totp(secret).provisioning_uri(name=account_name, issuer_name=issuer)
