"""Login and step-up flows (LOGIN-5, PROT-1, PROT-2): what a flow is, which second factors an
account can use, and when a login needs one. Pure: no I/O.

A flow is persisted with an id, an expiry and the assurance level reached so far (AAL 1
after the first factor, 2 after a second). A login under protection answers with its flow
instead of a token; completing the flow with a second factor opens the session. A step-up
flow belongs to a session and, once complete, gives that session a fresh second factor.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from services.identity.domain.errors import (
    FactorUnavailable,
    FlowCompleted,
    FlowExpired,
)


class FlowKind(StrEnum):
    LOGIN = "login"
    STEP_UP = "step_up"


class Factor(StrEnum):
    """PROT-2: the second factors: the MFA device's code, a code to the secure phone, a
    code to the secure email."""

    TOTP = "totp"
    SMS = "sms"
    EMAIL = "email"


# RFC 8176 authentication method references, as tokens carry them (`amr`).
AMR = {
    "password": "pwd",
    "wechat": "fed",
    "qq": "fed",
    "wecom": "fed",
    "official_account": "fed",
    Factor.TOTP: "otp",
    Factor.SMS: "sms",
    Factor.EMAIL: "mail",
}


def amr_of(method: str) -> str:
    return AMR.get(method, method)


@dataclass(frozen=True)
class Flow:
    flow_id: uuid.UUID
    kind: FlowKind
    account_id: int
    method: str  # the first factor's method (password, wechat, ...)
    aal: int
    amr: tuple[str, ...]
    created_at: datetime
    expires_at: datetime
    completed_at: datetime | None = None
    session_id: str | None = None
    device_id: str | None = None

    def state(self, now: datetime) -> str:
        if self.completed_at is not None:
            return "completed"
        return "expired" if now >= self.expires_at else "pending"


def check_open(flow: Flow, now: datetime) -> None:
    """A flow advances only while pending."""
    state = flow.state(now)
    if state == "completed":
        raise FlowCompleted("This flow is already complete: start a new one.")
    if state == "expired":
        raise FlowExpired("This flow has expired: start again.")


def available_factors(*, mfa_active: bool, secure_phone: bool, secure_email: bool) -> list[Factor]:
    """PROT-2: the usual factor first (the MFA device when there is one), then the
    alternatives the account can receive a code on."""
    factors = []
    if mfa_active:
        factors.append(Factor.TOTP)
    if secure_phone:
        factors.append(Factor.SMS)
    if secure_email:
        factors.append(Factor.EMAIL)
    return factors


def check_factor(factor: Factor, available: list[Factor]) -> None:
    if factor not in available:
        raise FactorUnavailable(
            f"`{factor.value}` is not a second factor this account can use.",
            details={"factor": factor.value, "available": [f.value for f in available]},
        )


def needs_second_factor(*, login_protection: bool, trusted_device: bool) -> bool:
    """LOGIN-5: with login protection on, a first factor is half a login, unless the device
    is trusted."""
    return login_protection and not trusted_device


def is_dormant(last_login_at: datetime | None, now: datetime, *, days: int) -> bool:
    """LOGIN-6: a login after more than `days` without one (a first login is not)."""
    return last_login_at is not None and now - last_login_at > timedelta(days=days)


def trusted(trusted_until: datetime | None, now: datetime) -> bool:
    return trusted_until is not None and trusted_until > now
