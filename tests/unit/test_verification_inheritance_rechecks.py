"""RN-12 (a created sub-account follows its root) and RN-13 (what a re-check finds), pure."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.verification.domain.enterprise import RegistryRecord
from services.verification.domain.rechecks import recheck_problem
from services.verification.domain.status import (
    PENDING,
    UNVERIFIED,
    VERIFIED,
    RealName,
    Reason,
    inherit,
)
from shared.events import RealNameMethod, RealNameSubject

AT = datetime(2026, 11, 23, tzinfo=UTC)
ROOT_VERIFIED = RealName(
    "100000000001", VERIFIED, RealNameSubject.ENTERPRISE, RealNameMethod.LEGAL_PERSON_FACE, AT
)
ROOT_UNVERIFIED = RealName.unverified("100000000001")
SUB = RealName.unverified("100000000002")
SUB_VERIFIED = RealName(
    "100000000002", VERIFIED, RealNameSubject.ENTERPRISE, RealNameMethod.LEGAL_PERSON_FACE, AT
)


def test_rn_12_a_sub_account_takes_its_verified_roots_real_name() -> None:
    change = inherit(SUB, ROOT_VERIFIED, at=AT)

    assert change is not None and change.proves
    assert (change.status, change.subject, change.method, change.reason) == (
        VERIFIED,
        RealNameSubject.ENTERPRISE,
        RealNameMethod.LEGAL_PERSON_FACE,
        Reason.INHERITED,
    )


def test_rn_12_a_sub_account_turns_unverified_with_its_root_and_waits_while_pending() -> None:
    down = inherit(SUB_VERIFIED, ROOT_UNVERIFIED, at=AT)

    assert down is not None and (down.status, down.reason) == (UNVERIFIED, Reason.ROOT_UNVERIFIED)
    assert inherit(SUB, ROOT_UNVERIFIED, at=AT) is None
    pending = RealName("100000000002", PENDING, RealNameSubject.ENTERPRISE, RealNameMethod.RECHARGE)
    assert inherit(pending, ROOT_VERIFIED, at=AT) is None


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (RegistryRecord("C", "北京示例（科技）有限公司"), None),
        (RegistryRecord("C", "北京示例有限公司", deregistered=True), Reason.ENTITY_DEREGISTERED),
        (RegistryRecord("C", "北京别名有限公司"), Reason.REGISTRY_MISMATCH),
        (None, Reason.REGISTRY_MISMATCH),
    ],
)
def test_rn_13_what_a_recheck_finds(record: RegistryRecord | None, expected: Reason | None) -> None:
    assert recheck_problem(record, "北京示例(科技)有限公司", "C") is expected
