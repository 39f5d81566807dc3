"""RN-11: the kinds of enterprise change and the review period, pure."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.verification.domain.change_requests import (
    ChangeKind,
    CurrentEnterprise,
    ensure_kind_fits,
    review_due,
)
from services.verification.domain.enterprise import (
    Enterprise,
    EnterpriseMethod,
    LegalPerson,
    LegalPersonRegion,
)
from services.verification.domain.errors import ChangeKindMismatch
from services.verification.domain.personal import CHINA

CURRENT = CurrentEnterprise("北京示例科技有限公司", "A", "张*", "mainland")


def new(name: str, uscc: str) -> Enterprise:
    return Enterprise(
        EnterpriseMethod.WECHAT_OFFICIAL_PLATFORM,
        name,
        uscc,
        LegalPerson("王五", LegalPersonRegion.MAINLAND),
    )


@pytest.mark.parametrize(
    ("kind", "name", "uscc", "fits"),
    [
        (ChangeKind.ENTITY, "上海乙有限公司", "B", True),
        (ChangeKind.ENTITY, "北京示例科技有限公司", "A", False),
        (ChangeKind.NAME, "北京新名字有限公司", "A", True),
        (ChangeKind.NAME, "北京示例科技有限公司", "A", False),
        (ChangeKind.NAME, "北京新名字有限公司", "B", False),
        (ChangeKind.LEGAL_PERSON, "北京示例科技有限公司", "A", True),
        (ChangeKind.LEGAL_PERSON, "北京新名字有限公司", "A", False),
    ],
)
def test_rn_11_each_kind_changes_what_it_says(
    kind: ChangeKind, name: str, uscc: str, fits: bool
) -> None:
    if fits:
        ensure_kind_fits(kind, CURRENT, new(name, uscc))
    else:
        with pytest.raises(ChangeKindMismatch):
            ensure_kind_fits(kind, CURRENT, new(name, uscc))


def test_rn_11_the_review_period_is_3_working_days_in_china_time() -> None:
    friday_evening_china = datetime(2026, 11, 27, 15, tzinfo=UTC)  # 23:00 in China, Friday

    due = review_due(friday_evening_china, 3)

    assert due == datetime(2026, 12, 3, tzinfo=CHINA)  # Mon, Tue, Wed: the end of Wednesday
