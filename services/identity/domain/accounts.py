"""Account rules that need no I/O: status (ACC-3) and registration input."""

from __future__ import annotations

from collections.abc import Iterable

from shared.errors import AppError
from shared.events import AccountStatus

SUPPORTED_LANGUAGES = frozenset({"zh-CN", "en"})
FROZEN_REASONS = frozenset({"violation", "real_name_failed", "overdue", "pending_cancellation"})


class UnsupportedLanguage(AppError):
    code = "LANGUAGE_UNSUPPORTED"


class AccountCancelled(AppError):
    """ACC-3: a cancelled account can do nothing."""

    status_code = 403
    code = "ACCOUNT_CANCELLED"


def check_language(language: str) -> str:
    if language not in SUPPORTED_LANGUAGES:
        raise UnsupportedLanguage(
            f"Language must be one of {sorted(SUPPORTED_LANGUAGES)}.", details={"field": "language"}
        )
    return language


def status_of(cancelled: bool, frozen_reasons: Iterable[str]) -> AccountStatus:
    """ACC-3: cancelled wins; any frozen reason freezes; else active."""
    if cancelled:
        return AccountStatus.CANCELLED
    return AccountStatus.FROZEN if set(frozen_reasons) else AccountStatus.ACTIVE


def may_log_in(status: AccountStatus) -> bool:
    """A frozen account can still log in (to settle the reason); a cancelled one cannot."""
    return status is not AccountStatus.CANCELLED
