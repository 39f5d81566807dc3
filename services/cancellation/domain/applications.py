"""Cancellation applications (CAN-4, CAN-5): their states and the cooling-off period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from services.cancellation.domain.errors import AccountCancelled
from shared.events import AccountStatus


class State(StrEnum):
    """cooling_off is the one open state; the others end the application."""

    COOLING_OFF = "cooling_off"
    WITHDRAWN = "withdrawn"
    REJECTED = "rejected"  # CAN-6: a precondition broke, or an operator rejected it
    COMPLETED = "completed"  # CAN-7: the account is cancelled


class TimerKind(StrEnum):
    """Cancellation's timers (shared/timers); `ref` is the application id."""

    COOLING_OFF_END = "cooling_off_end"  # CAN-5, CAN-7: complete, or reject (CAN-6)
    REEVALUATE = "reevaluate"  # CAN-6: a fact arrived during cooling-off; reject if broken


# CAN-6: the reason code of an application an operator rejected (operator_reason says why).
OPERATOR_REJECTED = "OPERATOR_REJECTED"


@dataclass(frozen=True)
class Application:
    application_id: str
    account_id: str
    state: State
    requested_at: datetime
    cooling_off_ends_at: datetime
    ended_at: datetime | None = None
    reasons: tuple[str, ...] = ()
    operator_reason: str | None = None

    @property
    def is_open(self) -> bool:
        return self.state is State.COOLING_OFF


@dataclass(frozen=True)
class Account:
    """The projection of one identity account: registration and status (ACC-3)."""

    account_id: str
    registered_at: datetime
    status: AccountStatus = AccountStatus.ACTIVE
    frozen_reasons: tuple[str, ...] = ()


def cooling_off_end(requested_at: datetime, period: timedelta | int) -> datetime:
    """CAN-5: when the cooling-off period (a duration, or whole days) of an application
    made at `requested_at` ends."""
    return requested_at + (period if isinstance(period, timedelta) else timedelta(days=period))


def ensure_may_apply(account: Account) -> None:
    """ACC-3: a cancelled account is gone. A frozen one may apply (README: choices): the
    preconditions decide, and a freeze for `pending_cancellation` is our own open
    application, answered as such."""
    if account.status is AccountStatus.CANCELLED:
        raise AccountCancelled("The account is already cancelled.")


def newer(status_changed_at: datetime | None, at: datetime) -> bool:
    """Whether a status stamped `at` is at least as new as the one projected."""
    return status_changed_at is None or at >= status_changed_at
