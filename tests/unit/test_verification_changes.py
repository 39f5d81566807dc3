"""RN-9, RN-10: the change rules, pure (domain/changes.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.verification.domain.changes import Billing, Target, ensure_may_change
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
from shared.errors import AppError
from shared.events import RealNameMethod, RealNameSubject

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
DAYS_30 = timedelta(days=30)
CLEAR = Billing(0, 0, NOW)
PERSON = Target(RealNameSubject.PERSONAL, Region.MAINLAND)
ENTERPRISE = Target(RealNameSubject.ENTERPRISE)


def verified(subject: RealNameSubject, days_ago: float) -> RealName:
    return RealName(
        "100000000001",
        VERIFIED,
        subject,
        RealNameMethod.WECHAT_SCAN,
        NOW - timedelta(days=days_ago),
    )


def refusal(
    current: RealName, region: Region | None, target: Target, billing: Billing | None
) -> type[AppError] | None:
    try:
        ensure_may_change(current, region, target, billing, now=NOW, min_interval=DAYS_30)
    except AppError as error:
        return type(error)
    return None


@pytest.mark.parametrize(
    ("subject", "region", "target", "days_ago", "billing", "expected"),
    [
        (RealNameSubject.PERSONAL, Region.MAINLAND, ENTERPRISE, 0, CLEAR, None),
        (RealNameSubject.PERSONAL, Region.MAINLAND, PERSON, 29.9, CLEAR, ChangeTooSoon),
        (RealNameSubject.PERSONAL, Region.MAINLAND, PERSON, 30, CLEAR, None),
        (RealNameSubject.ENTERPRISE, None, ENTERPRISE, 29, CLEAR, ChangeTooSoon),
        (RealNameSubject.ENTERPRISE, None, ENTERPRISE, 31, CLEAR, None),
        (RealNameSubject.ENTERPRISE, None, PERSON, 400, CLEAR, EnterpriseToPersonalRefused),
        (
            RealNameSubject.PERSONAL,
            Region.MAINLAND,
            Target(RealNameSubject.PERSONAL, Region.HONG_KONG),
            400,
            CLEAR,
            MainlandToOverseasRefused,
        ),
        (
            RealNameSubject.PERSONAL,
            Region.TAIWAN,
            Target(RealNameSubject.PERSONAL, Region.MAINLAND),
            31,
            CLEAR,
            None,
        ),
        (RealNameSubject.PERSONAL, Region.MAINLAND, ENTERPRISE, 0, None, BillingStandingUnknown),
        (
            RealNameSubject.PERSONAL,
            Region.MAINLAND,
            PERSON,
            31,
            Billing(1, 0, NOW),
            PaymentsOverdue,
        ),
        (
            RealNameSubject.PERSONAL,
            Region.MAINLAND,
            ENTERPRISE,
            31,
            Billing(0, 1, NOW),
            AdvancePaymentsOutstanding,
        ),
    ],
)
def test_rn_9_rn_10_which_changes_are_allowed(
    subject: RealNameSubject,
    region: Region | None,
    target: Target,
    days_ago: float,
    billing: Billing | None,
    expected: type[AppError] | None,
) -> None:
    assert refusal(verified(subject, days_ago), region, target, billing) is expected
