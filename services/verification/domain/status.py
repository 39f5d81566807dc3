"""RN-1, RN-16: an account's real-name status and the changes between statuses.

Every change is a `Change` the service layer stores as a history row and publishes as
RealNameChanged (plus RealNameVerified when it proves a real name). There is no change that
removes a real name: a verified account leaves `verified` only by a downgrade that names its
reason (RN-13), or by verifying again as something else (RN-9..RN-11).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from services.verification.domain.errors import (
    AlreadyVerified,
    VerificationPending,
)
from shared.events import RealNameMethod, RealNameStatus, RealNameSubject

UNVERIFIED = RealNameStatus.UNVERIFIED
PENDING = RealNameStatus.PENDING
VERIFIED = RealNameStatus.VERIFIED


class Reason(StrEnum):
    """Why a status changed: the history's `reason` and RealNameChanged.reason."""

    VERIFIED = "verified"  # a method proved the real name
    SUBMITTED = "submitted"  # a non-instant method started (pending)
    ABANDONED = "abandoned"  # a pending method ended without proof (RN-5 windows)
    CHANGED = "changed"  # a change applied (RN-9..RN-11)
    INHERITED = "inherited"  # RN-12: a created sub-account follows its root's real name
    ROOT_UNVERIFIED = "root_unverified"  # RN-12: its root is no longer verified
    ENTITY_DEREGISTERED = "entity_deregistered"  # RN-13
    REGISTRY_MISMATCH = "registry_mismatch"  # RN-13


DOWNGRADE_REASONS = frozenset({Reason.ENTITY_DEREGISTERED, Reason.REGISTRY_MISMATCH})


class IllegalChange(Exception):
    """A change the status machine does not have (a bug in the caller, not a refusal)."""


@dataclass(frozen=True)
class RealName:
    """What verification knows of one account's real name now."""

    account_id: str
    status: RealNameStatus
    subject: RealNameSubject | None = None
    method: RealNameMethod | None = None
    verified_at: datetime | None = None  # the last authentication (RN-9's 30 days)

    @classmethod
    def unverified(cls, account_id: str) -> RealName:
        return cls(account_id, UNVERIFIED)


@dataclass(frozen=True)
class Change:
    """One entry of the history: from `previous` to `status`, why, and what it leaves."""

    account_id: str
    previous: RealNameStatus
    status: RealNameStatus
    subject: RealNameSubject | None
    method: RealNameMethod | None
    reason: Reason
    at: datetime

    @property
    def proves(self) -> bool:
        """Whether the change proves a real name (RealNameVerified goes with it)."""
        return self.status is VERIFIED and self.reason in (
            Reason.VERIFIED,
            Reason.CHANGED,
            Reason.INHERITED,
        )

    def applied_to(self, current: RealName) -> RealName:
        """The account's real name after the change."""
        verified_at = self.at if self.proves else current.verified_at
        if self.status is UNVERIFIED:
            return RealName(current.account_id, UNVERIFIED, verified_at=verified_at)
        return RealName(current.account_id, self.status, self.subject, self.method, verified_at)


def ensure_may_start(current: RealName) -> None:
    """A first verification (RN-2, RN-5) starts only from `unverified`."""
    if current.status is VERIFIED:
        raise AlreadyVerified(
            "The account is already verified; change its real name instead.",
            details={"subject": current.subject.value if current.subject else None},
        )
    if current.status is PENDING:
        raise VerificationPending(
            "A verification of this account is pending; finish or abandon it first.",
            details={"method": current.method.value if current.method else None},
        )


def verify(
    current: RealName, subject: RealNameSubject, method: RealNameMethod, *, at: datetime
) -> Change:
    """An instant method proved the real name, or a pending one completed."""
    completes_pending = current.status is PENDING and current.method is method
    if not completes_pending:
        ensure_may_start(current)
    return Change(
        current.account_id, current.status, VERIFIED, subject, method, Reason.VERIFIED, at
    )


def change(
    current: RealName, subject: RealNameSubject, method: RealNameMethod, *, at: datetime
) -> Change:
    """RN-9..RN-11: a verified account proved another real name (the gate allowed it)."""
    if current.status is not VERIFIED:
        raise IllegalChange(f"change from {current.status}")
    return Change(current.account_id, VERIFIED, VERIFIED, subject, method, Reason.CHANGED, at)


def submit(
    current: RealName, subject: RealNameSubject, method: RealNameMethod, *, at: datetime
) -> Change:
    """A method that is not instant started (RN-5 recharge, remittance): pending."""
    ensure_may_start(current)
    return Change(current.account_id, UNVERIFIED, PENDING, subject, method, Reason.SUBMITTED, at)


def abandon(current: RealName, *, at: datetime) -> Change:
    """A pending method ended without proof (its window closed, or the user gave up)."""
    if current.status is not PENDING:
        raise IllegalChange(f"abandon from {current.status}")
    return Change(
        current.account_id,
        PENDING,
        UNVERIFIED,
        current.subject,
        current.method,
        Reason.ABANDONED,
        at,
    )


def downgrade(current: RealName, reason: Reason, *, at: datetime) -> Change:
    """RN-13: a verified account turns unverified, for a named reason only (RN-1: a real
    name is never simply removed)."""
    if current.status is not VERIFIED:
        raise IllegalChange(f"downgrade from {current.status}")
    if reason not in DOWNGRADE_REASONS:
        raise IllegalChange(f"downgrade for {reason}")
    return Change(
        current.account_id, VERIFIED, UNVERIFIED, current.subject, current.method, reason, at
    )


def inherit(sub: RealName, root: RealName, *, at: datetime) -> Change | None:
    """RN-12: a sub-account created by a root account has the root's real name: verified as
    the root is, unverified when the root no longer is. None when there is nothing to do
    (neither is verified, or the sub-account is pending a verification of its own)."""
    if sub.status is PENDING:
        return None
    if root.status is VERIFIED:
        return Change(
            sub.account_id, sub.status, VERIFIED, root.subject, root.method, Reason.INHERITED, at
        )
    if sub.status is VERIFIED:
        return Change(
            sub.account_id,
            VERIFIED,
            UNVERIFIED,
            sub.subject,
            sub.method,
            Reason.ROOT_UNVERIFIED,
            at,
        )
    return None
