"""CAN-1, CAN-2 (EXT): may this account apply? Pure: the facts in, every failed precondition
out, each with its own reason code, all of them at once.

A producer that never reported the account makes its facts *unknown*, which refuses with
its own reason (`*_UNKNOWN`), never "fine".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from shared.events import (
    BillingStanding,
    CamStanding,
    CaseKind,
    ComplaintsStanding,
    ResourcesStanding,
)


class Reason(StrEnum):
    """Reason codes of failed preconditions (README: "Reason codes")."""

    NOT_ROOT_ACCOUNT = "NOT_ROOT_ACCOUNT"  # CAN-1: a sub-account (per CAM)
    BILLING_UNKNOWN = "BILLING_UNKNOWN"
    PENDING_ORDERS = "PENDING_ORDERS"
    ARREARS = "ARREARS"
    ADVANCE_PAYMENTS = "ADVANCE_PAYMENTS"
    CASH_BALANCE = "CASH_BALANCE"
    VOUCHERS = "VOUCHERS"
    RESOURCES_UNKNOWN = "RESOURCES_UNKNOWN"
    RESOURCES_IN_USE = "RESOURCES_IN_USE"
    CAM_UNKNOWN = "CAM_UNKNOWN"
    COLLABORATORS = "COLLABORATORS"
    SUB_USERS = "SUB_USERS"
    MESSAGE_RECIPIENTS = "MESSAGE_RECIPIENTS"
    COMPLAINTS_UNKNOWN = "COMPLAINTS_UNKNOWN"
    OPEN_COMPLAINTS = "OPEN_COMPLAINTS"
    OPEN_REPORTS = "OPEN_REPORTS"


@dataclass(frozen=True)
class Failed:
    """One failed precondition: its code, what to do, and its particulars."""

    reason: Reason
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Facts:
    """What cancellation knows of one account from the other systems (None: unknown)."""

    billing: BillingStanding | None
    resources: ResourcesStanding | None
    cam: CamStanding | None
    complaints: ComplaintsStanding | None
    root_account_id: str | None = None  # set when CAM reported the account a sub-account


def _unknown(reason: Reason, system: str) -> Failed:
    return Failed(
        reason,
        f"{system} has not reported this account yet, so whether it may be cancelled is "
        "unknown; try again once it has.",
        {"system": system},
    )


# A count of a standing that must be zero: (field, reason, what to do).
Owed = tuple[str, Reason, str]

BILLING_OWED: tuple[Owed, ...] = (
    (
        "pending_orders",
        Reason.PENDING_ORDERS,
        "Orders or services are pending: pay, finish or cancel them first.",
    ),
    ("overdue_fen", Reason.ARREARS, "The account has arrears: settle them first."),
    (
        "advance_payment_fen",
        Reason.ADVANCE_PAYMENTS,
        "Advance payments are outstanding: repay them first.",
    ),
    ("balance_fen", Reason.CASH_BALANCE, "A cash balance is left: spend it or withdraw it first."),
    ("vouchers", Reason.VOUCHERS, "Vouchers are left: use them or give them up first."),
)
CAM_OWED: tuple[Owed, ...] = (
    ("collaborators", Reason.COLLABORATORS, "Collaborators are left: remove them first."),
    ("sub_users", Reason.SUB_USERS, "Sub-users are left: delete them first."),
    (
        "message_recipients",
        Reason.MESSAGE_RECIPIENTS,
        "Message recipients are left: remove them first.",
    ),
)


def _nonzero(standing: BillingStanding | CamStanding, owed: tuple[Owed, ...]) -> list[Failed]:
    """A failed precondition for each count of `owed` that is not zero, in that order."""
    at = {"as_of": standing.as_of.isoformat()}
    return [
        Failed(reason, message, {name: getattr(standing, name), **at})
        for name, reason, message in owed
        if getattr(standing, name)
    ]


def _billing(b: BillingStanding | None) -> list[Failed]:
    if b is None:
        return [_unknown(Reason.BILLING_UNKNOWN, "billing")]
    return _nonzero(b, BILLING_OWED)


def _resources(r: ResourcesStanding | None) -> list[Failed]:
    if r is None:
        return [_unknown(Reason.RESOURCES_UNKNOWN, "resources")]
    if not r.resources_in_use:
        return []
    return [
        Failed(
            Reason.RESOURCES_IN_USE,
            "Resources are in use: release them first.",
            {
                "resources_in_use": r.resources_in_use,
                "products": list(r.products),
                "as_of": r.as_of.isoformat(),
            },
        )
    ]


def _cam(c: CamStanding | None) -> list[Failed]:
    if c is None:
        return [_unknown(Reason.CAM_UNKNOWN, "cam")]
    return _nonzero(c, CAM_OWED)


def _complaints(c: ComplaintsStanding | None) -> list[Failed]:
    if c is None:
        return [_unknown(Reason.COMPLAINTS_UNKNOWN, "complaints")]
    found: list[Failed] = []
    for kind, reason, what in (
        (CaseKind.COMPLAINT, Reason.OPEN_COMPLAINTS, "Complaints"),
        (CaseKind.REPORT, Reason.OPEN_REPORTS, "Reports"),
    ):
        cases = [case.case_id for case in c.open_cases if case.kind is kind]
        if cases:
            found.append(
                Failed(
                    reason,
                    f"{what} involving the account are still open: they must be closed first.",
                    {"case_ids": cases, "as_of": c.as_of.isoformat()},
                )
            )
    return found


def failed_preconditions(facts: Facts) -> list[Failed]:
    """Every failed precondition of CAN-1 (root account) and CAN-2, in a stable order;
    empty when the account may apply."""
    found: list[Failed] = []
    if facts.root_account_id is not None:
        found.append(
            Failed(
                Reason.NOT_ROOT_ACCOUNT,
                "This is a sub-account: only a root account can be cancelled; ask the root "
                "account to remove it instead.",
                {"root_account_id": facts.root_account_id},
            )
        )
    return (
        found
        + _billing(facts.billing)
        + _resources(facts.resources)
        + _cam(facts.cam)
        + _complaints(facts.complaints)
    )
