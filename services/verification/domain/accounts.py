"""What verification knows of an account from identity (ACC-3), and what it may do."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.verification.domain.errors import AccountCancelled
from shared.events import AccountStatus


@dataclass(frozen=True)
class Account:
    """The projection of one identity account: registration and status."""

    account_id: str
    registered_at: datetime
    status: AccountStatus = AccountStatus.ACTIVE
    frozen_reasons: tuple[str, ...] = field(default=())
    status_changed_at: datetime | None = None


def ensure_may_submit(account: Account) -> None:
    """ACC-3: a cancelled account can do nothing. A frozen one may still verify: a freeze
    for `real_name_failed` is settled by verifying, and none of the other reasons (violation,
    overdue, pending_cancellation) is about real-name data (README: choices)."""
    if account.status is AccountStatus.CANCELLED:
        raise AccountCancelled("The account is cancelled.")


def newer(status_changed_at: datetime | None, at: datetime) -> bool:
    """Whether a status stamped `at` is newer than the one projected (a replayed or late
    AccountStatusChanged does not undo a later one)."""
    return status_changed_at is None or at >= status_changed_at
