"""RN-11: enterprise changes under review. Pure: the kinds, what each may change, the review
period, and the states a request goes through.

- `entity`: the account becomes another enterprise (another code, A to B);
- `name`: the same code under its new name (the registry has renamed it);
- `legal_person`: the same enterprise with another legal person.

A request is `under_review` until an operator approves or rejects it, or the applicant
withdraws it; only then is it decided, and only an approval changes the real name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum

from services.verification.domain.enterprise import Enterprise, normalise_name, working_days_after
from services.verification.domain.errors import ChangeKindMismatch, ChangeNotUnderReview
from services.verification.domain.personal import CHINA, china_day


class ChangeKind(StrEnum):
    ENTITY = "entity"
    NAME = "name"
    LEGAL_PERSON = "legal_person"


class ChangeState(StrEnum):
    UNDER_REVIEW = "under_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class CurrentEnterprise:
    """What the account is verified as now (public data, legal person masked)."""

    name: str
    uscc: str
    legal_person_name_masked: str
    legal_person_region: str


def ensure_kind_fits(kind: ChangeKind, current: CurrentEnterprise, new: Enterprise) -> None:
    """Each kind changes what it says and nothing else (CHANGE_KIND_MISMATCH otherwise)."""
    same_code = new.uscc == current.uscc
    same_name = normalise_name(new.name) == normalise_name(current.name)
    if kind is ChangeKind.ENTITY and same_code:
        raise ChangeKindMismatch(
            "Changing the entity means another enterprise: give its own code.",
            details={"kind": kind.value, "problem": "same_uscc"},
        )
    if kind is ChangeKind.NAME and (not same_code or same_name):
        raise ChangeKindMismatch(
            "A name change keeps the code and gives the enterprise's new name.",
            details={
                "kind": kind.value,
                "problem": "uscc_changed" if not same_code else "same_name",
            },
        )
    if kind is ChangeKind.LEGAL_PERSON and (not same_code or not same_name):
        raise ChangeKindMismatch(
            "A legal person update keeps the enterprise's code and name.",
            details={"kind": kind.value, "problem": "enterprise_changed"},
        )


def review_due(submitted_at: datetime, working_days: int) -> datetime:
    """The end of the review period: the China midnight that ends the `working_days`-th
    working day after the day of submission."""
    last_day = working_days_after(china_day(submitted_at), working_days)
    return datetime.combine(last_day + timedelta(days=1), time(), tzinfo=CHINA)


def ensure_under_review(state: ChangeState) -> None:
    if state is not ChangeState.UNDER_REVIEW:
        raise ChangeNotUnderReview(
            f"This change is {state.value}, no longer under review.",
            details={"state": state.value},
        )
