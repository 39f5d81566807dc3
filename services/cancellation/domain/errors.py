"""Named refusals of the cancellation service; each has a stable code and HTTP status.

The README's "Error codes" table lists every code with the rule it enforces."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.errors import AppError, Conflict, NotFound

if TYPE_CHECKING:
    from services.cancellation.domain.preconditions import Failed

# Identity's endpoints an account that cannot log in uses to get its login back (REC-2).
RECOVERY = {
    "find_accounts": "POST /v1/recovery/accounts",
    "appeal": "POST /v1/recovery/appeals",
}


class LoginRequired(AppError):
    """CAN-9: no anonymous cancellation. Without a valid session token the answer names
    identity's recovery (REC-2): an account that cannot log in recovers its login first."""

    status_code = 401
    code = "LOGIN_REQUIRED"

    def __init__(self, problem: str) -> None:
        super().__init__(
            f"Cancellation needs the account's own login ({problem}). If the account can no "
            "longer log in, recover its login first (REC-2: an appeal at identity), then "
            "apply.",
            details={"problem": problem, "recovery": RECOVERY},
        )


class AccountUnknown(NotFound):
    """The account is not (yet) in cancellation's projection of identity's accounts."""

    code = "ACCOUNT_UNKNOWN"


class AccountCancelled(AppError):
    """ACC-3: a cancelled account can do nothing."""

    status_code = 403
    code = "ACCOUNT_CANCELLED"


class PreconditionsFailed(Conflict):
    """CAN-1, CAN-2: preconditions fail; details.reasons lists every one, each with its own
    code (README: "Reason codes"), message and particulars."""

    code = "PRECONDITIONS_FAILED"

    def __init__(self, failed: list[Failed]) -> None:
        super().__init__(
            "The account cannot be cancelled yet: "
            + "; ".join(f.reason.value for f in failed)
            + ". Each reason says what to do.",
            details={
                "reasons": [
                    {"code": f.reason.value, "message": f.message, "details": f.details}
                    for f in failed
                ]
            },
        )


class ApplicationOpen(Conflict):
    """CAN-4: one open application per account."""

    code = "APPLICATION_OPEN"


class NoApplication(NotFound):
    """The account never applied (GET), or has no open application (DELETE)."""

    code = "NO_APPLICATION"


class CoolingOffOver(Conflict):
    """CAN-5: withdrawal is possible during the cooling-off period only."""

    code = "COOLING_OFF_OVER"


class ApplicationNotFound(NotFound):
    """Operators: no application has this id."""

    code = "APPLICATION_NOT_FOUND"


class NotCoolingOff(Conflict):
    """Operators: only an application in cooling-off can be rejected (it already ended:
    withdrawn, rejected or completed)."""

    code = "NOT_COOLING_OFF"
