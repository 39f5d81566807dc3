"""Cancellation's pure rules: CAN-2 preconditions (every failure, in order, unknown refuses),
CAN-1 root accounts, CAN-5 the cooling-off end, CAN-7 when erasure is complete."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from devkit.testing.facts import billing, clear_standings
from services.cancellation.domain.applications import cooling_off_end
from services.cancellation.domain.erasure import erasure_complete, erasure_of
from services.cancellation.domain.preconditions import Facts, Reason, failed_preconditions
from shared.events import (
    BillingStanding,
    CamStanding,
    ComplaintsStanding,
    ResourcesStanding,
)

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def clear(**changes: object) -> Facts:
    found = {type(s): s for s in clear_standings(NOW)}
    values: dict[str, object] = {
        "billing": found[BillingStanding],
        "resources": found[ResourcesStanding],
        "cam": found[CamStanding],
        "complaints": found[ComplaintsStanding],
        **changes,
    }
    return Facts(**values)  # type: ignore[arg-type]


def test_can_2_an_account_every_producer_reported_clear_may_apply() -> None:
    assert failed_preconditions(clear()) == []


def test_ext_every_unknown_producer_refuses_with_its_own_reason() -> None:
    found = failed_preconditions(Facts(None, None, None, None))

    assert [f.reason for f in found] == [
        Reason.BILLING_UNKNOWN,
        Reason.RESOURCES_UNKNOWN,
        Reason.CAM_UNKNOWN,
        Reason.COMPLAINTS_UNKNOWN,
    ]


def test_can_2_each_amount_owed_or_held_is_its_own_reason() -> None:
    for field, reason in [
        ("pending_orders", Reason.PENDING_ORDERS),
        ("overdue_fen", Reason.ARREARS),
        ("advance_payment_fen", Reason.ADVANCE_PAYMENTS),
        ("balance_fen", Reason.CASH_BALANCE),
        ("vouchers", Reason.VOUCHERS),
    ]:
        (only,) = failed_preconditions(clear(billing=billing(NOW, **{field: 1})))
        assert only.reason is reason
        assert only.details[field] == 1


def test_can_1_a_sub_account_is_refused_first_with_the_other_reasons() -> None:
    found = failed_preconditions(clear(root_account_id="100000000001", resources=None))

    assert [f.reason for f in found] == [Reason.NOT_ROOT_ACCOUNT, Reason.RESOURCES_UNKNOWN]


def test_can_5_cooling_off_ends_the_set_number_of_days_later() -> None:
    assert cooling_off_end(NOW, 15) == NOW + timedelta(days=15)
    assert cooling_off_end(NOW, 0) == NOW
    assert cooling_off_end(NOW, timedelta(seconds=90)) == NOW + timedelta(seconds=90)


def test_can_7_erasure_is_complete_only_once_all_four_services_confirmed() -> None:
    three = {"identity": NOW, "verification": NOW, "cancellation": NOW}

    assert erasure_of(three) == {**three, "notifier": None}
    assert list(erasure_of(three)) == ["identity", "verification", "notifier", "cancellation"]
    assert not erasure_complete(three)
    assert not erasure_complete({**three, "billing": NOW})
    assert erasure_complete({**three, "notifier": NOW})
