"""RN-9, RN-10: whether a verified account may change its real name now. Pure: the service
layer reads the current real name, the person's region and billing's standing, and asks.

- RN-9: personal to enterprise at any time; enterprise to personal, and a mainland person
  to an overseas one (Hong Kong, Macao, Taiwan), never; any other change only
  CHANGE_MIN_INTERVAL_S (30 days) after the last authentication (`verified_at`).
- RN-10 (EXT): no change while billing reports overdue or advance payments, and none while
  billing never reported on the account (unknown refuses).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.verification.domain.errors import (
    AdvancePaymentsOutstanding,
    BillingStandingUnknown,
    ChangeTooSoon,
    EnterpriseToPersonalRefused,
    MainlandToOverseasRefused,
    PaymentsOverdue,
)
from services.verification.domain.personal import Region
from services.verification.domain.status import VERIFIED, RealName
from shared.events import RealNameSubject


@dataclass(frozen=True)
class Billing:
    """Billing's newest standing of the account (RN-10), as verification projected it."""

    overdue_fen: int
    advance_payment_fen: int
    as_of: datetime


@dataclass(frozen=True)
class Target:
    """What the account wants to verify as: a person of a region, or an enterprise."""

    subject: RealNameSubject
    region: Region | None = None  # a person's region


def is_change(current: RealName) -> bool:
    """A verified account verifying again changes its real name (RN-9)."""
    return current.status is VERIFIED


def ensure_kind_allowed(current: RealName, current_region: Region | None, target: Target) -> None:
    """RN-9: the kinds of change that are never allowed."""
    if current.subject is RealNameSubject.ENTERPRISE and target.subject is RealNameSubject.PERSONAL:
        raise EnterpriseToPersonalRefused(
            "An enterprise real name cannot change to a personal one."
        )
    if (
        current.subject is RealNameSubject.PERSONAL
        and target.subject is RealNameSubject.PERSONAL
        and current_region is Region.MAINLAND
        and target.region is not None
        and target.region is not Region.MAINLAND
    ):
        raise MainlandToOverseasRefused(
            "A mainland person's real name cannot change to an overseas (Hong Kong, Macao, "
            "Taiwan) one."
        )


def ensure_interval_elapsed(
    current: RealName, target: Target, *, now: datetime, min_interval: timedelta
) -> None:
    """RN-9: personal to enterprise at any time; any other change only `min_interval`
    after the last authentication."""
    upgrade = (
        current.subject is RealNameSubject.PERSONAL and target.subject is RealNameSubject.ENTERPRISE
    )
    if upgrade or current.verified_at is None:
        return
    allowed_from = current.verified_at + min_interval
    if now < allowed_from:
        raise ChangeTooSoon(allowed_from)


def ensure_billing_allows(billing: Billing | None) -> None:
    """RN-10: nothing overdue, no advance payment outstanding, and billing has spoken."""
    if billing is None:
        raise BillingStandingUnknown(
            "Billing has not reported on this account yet, so a change cannot be allowed; "
            "try again later."
        )
    if billing.overdue_fen > 0:
        raise PaymentsOverdue(billing.overdue_fen, billing.as_of)
    if billing.advance_payment_fen > 0:
        raise AdvancePaymentsOutstanding(billing.advance_payment_fen, billing.as_of)


def ensure_may_change(
    current: RealName,
    current_region: Region | None,
    target: Target,
    billing: Billing | None,
    *,
    now: datetime,
    min_interval: timedelta,
) -> None:
    """Every refusal of RN-9 and RN-10, in that order (the kind, the 30 days, billing)."""
    ensure_kind_allowed(current, current_region, target)
    ensure_interval_elapsed(current, target, now=now, min_interval=min_interval)
    ensure_billing_allows(billing)
