"""Recovery (REC-1, REC-2): what a found account shows, what an appeal holds, how it is
decided. Pure."""

from __future__ import annotations

from enum import StrEnum

from services.identity.domain.errors import (
    AppealAlreadyDecided,
    AppealStatementRequired,
    DecisionReasonRequired,
)

STATEMENT_MAX = 2000  # the applicant's free text (REC-2)
REASON_MAX = 500  # the operator's reason, shown to the applicant (AppealDecided.reason)


class AppealStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class OperatorAction(StrEnum):
    """What operator_actions records of a recovery decision (who, what, why)."""

    APPEAL_APPROVED = "appeal_approved"
    APPEAL_REJECTED = "appeal_rejected"
    MFA_UNBOUND = "mfa_unbind"  # an approval that reset the MFA device (MFA-4's action)


def mask_account_id(account_id: int | str) -> str:
    """REC-1: 100000000001 -> 1000****0001: enough to tell one's own accounts apart, not
    enough to act on someone else's."""
    digits = str(account_id)
    if len(digits) <= 8:
        return "****" + digits[-2:]
    return f"{digits[:4]}****{digits[-4:]}"


def check_statement(statement: str) -> str:
    """REC-2: the applicant's account of why the account is theirs; not empty."""
    text = statement.strip()
    if not text:
        raise AppealStatementRequired("Say why the account is yours: an operator reads it.")
    return text


def check_reason(reason: str | None, *, required: bool) -> str | None:
    """The operator's reason: required to reject (the applicant reads it), optional to
    approve; blank counts as none."""
    text = (reason or "").strip() or None
    if text is None and required:
        raise DecisionReasonRequired("Give the reason: the applicant is told it.")
    return text


def check_undecided(status: str) -> None:
    """REC-2: an appeal is decided once; a second decision (or a race) gets 409."""
    if status != AppealStatus.PENDING:
        raise AppealAlreadyDecided(f"The appeal was already {status}.", details={"status": status})
