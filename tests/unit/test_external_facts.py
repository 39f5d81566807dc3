"""The contracts of the facts other systems publish (EXT): what each fact admits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from shared.events import (
    ALL_PAYLOADS,
    EXTERNAL_TOPICS,
    REGISTRY,
    BillingStanding,
    CamStanding,
    ComplaintsStanding,
    Fact,
    InvalidEvent,
    PaymentReceived,
    ResourcesStanding,
    Standing,
    SubAccountAssociated,
    SubAccountCreated,
    Topic,
    decode,
    encode,
    new_envelope,
    owner_of,
    payloads_on,
)

pytestmark = pytest.mark.unit

AS_OF = "2026-11-23T15:00:00+08:00"
ACCOUNT = "100000000001"


def billing(**changes: Any) -> dict[str, Any]:
    return {
        "as_of": AS_OF,
        "overdue_fen": 0,
        "advance_payment_fen": 0,
        "balance_fen": 0,
        "vouchers": 0,
        "pending_orders": 0,
        **changes,
    }


def payment(**changes: Any) -> dict[str, Any]:
    return {
        "payment_id": "PAY-1",
        "amount_fen": 37,
        "payer_kind": "corporate",
        "payer_name": "Hangzhou Example Technology Co., Ltd.",
        "payer_account_masked": "************1234",
        "received_at": AS_OF,
        **changes,
    }


def problems(model: type[Fact], data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as raised:
        model.model_validate(data)
    return [(".".join(map(str, e["loc"])), e["type"]) for e in raised.value.errors()]


def test_ext_every_external_topic_has_facts_and_every_fact_is_on_one() -> None:
    for topic in EXTERNAL_TOPICS:
        assert payloads_on(topic), topic
        assert all(issubclass(p, Fact) for p in payloads_on(topic))
    facts = [p for p in ALL_PAYLOADS if issubclass(p, Fact)]
    assert {p.topic for p in facts} == set(EXTERNAL_TOPICS)
    assert owner_of(Topic.BILLING_EVENTS) == "billing"
    assert owner_of(Topic.COMPLAINTS_EVENTS) == "complaints"
    with pytest.raises(ValueError, match="not an external topic"):
        owner_of(Topic.IDENTITY_EVENTS)


def test_ext_a_standing_is_a_snapshot_with_as_of_and_every_field_required() -> None:
    """A projection is the newest standing per account: nothing in it may be a default."""
    standings = [p for p in ALL_PAYLOADS if issubclass(p, Standing)]
    assert set(standings) == {
        BillingStanding,
        ResourcesStanding,
        CamStanding,
        ComplaintsStanding,
    }
    for standing in standings:
        assert standing.snapshot
        assert "as_of" in standing.model_fields
        assert all(f.is_required() for f in standing.model_fields.values()), standing


def test_ext_as_of_must_carry_a_time_zone() -> None:
    assert problems(BillingStanding, billing(as_of="2026-11-23T15:00:00")) == [
        ("as_of", "timezone_aware")
    ]


def test_can_2_rn_10_billing_standing_reports_each_precondition() -> None:
    standing = BillingStanding.model_validate(
        billing(overdue_fen=12050, advance_payment_fen=1, balance_fen=3700, vouchers=2)
    )
    assert (standing.overdue_fen, standing.advance_payment_fen) == (12050, 1)
    assert (standing.balance_fen, standing.vouchers, standing.pending_orders) == (3700, 2, 0)
    assert standing.as_of == datetime(2026, 11, 23, 7, tzinfo=UTC)


@pytest.mark.parametrize("value", [-1, 1.5, 37.0, "37", True, None])
def test_ext_amounts_and_counts_are_non_negative_integers_never_coerced(value: Any) -> None:
    assert [loc for loc, _ in problems(BillingStanding, billing(overdue_fen=value))] == [
        "overdue_fen"
    ]
    assert [loc for loc, _ in problems(BillingStanding, billing(vouchers=value))] == ["vouchers"]


def test_ext_a_standing_is_closed_a_misspelt_field_is_refused_not_defaulted() -> None:
    data = billing()
    data["balanse_fen"] = data.pop("balance_fen")
    assert sorted(problems(BillingStanding, data)) == [
        ("balance_fen", "missing"),
        ("balanse_fen", "extra_forbidden"),
    ]


def test_rn_5_a_payment_carries_what_a_recharge_is_matched_on() -> None:
    paid = PaymentReceived.model_validate(payment())
    assert (paid.payment_id, paid.amount_fen, paid.payer_kind) == ("PAY-1", 37, "corporate")
    assert paid.payer_name == "Hangzhou Example Technology Co., Ltd."
    assert problems(PaymentReceived, payment(amount_fen=0)) == [("amount_fen", "greater_than")]
    assert problems(PaymentReceived, payment(amount_fen=0.37)) == [("amount_fen", "int_type")]


@pytest.mark.parametrize("number", ["6222020200112233", "6222 0202 0011 2233", "****", "1234"])
def test_rn_17_a_payment_never_carries_the_account_number_in_clear(number: str) -> None:
    assert problems(PaymentReceived, payment(payer_account_masked=number)) == [
        ("payer_account_masked", "string_pattern_mismatch")
    ]


@pytest.mark.parametrize("name", ["", "x" * 201, "Evil\x00Corp", "Evil\nCorp", "\ud800"])
def test_ext_payer_name_is_bounded_printable_text(name: str) -> None:
    assert [loc for loc, _ in problems(PaymentReceived, payment(payer_name=name))] == ["payer_name"]


def test_can_2_resources_name_their_products_and_agree_with_the_count() -> None:
    held = ResourcesStanding.model_validate(
        {"as_of": AS_OF, "resources_in_use": 3, "products": ["cvm", "cos"]}
    )
    assert held.products == ["cvm", "cos"]
    assert (
        ResourcesStanding.model_validate(
            {"as_of": AS_OF, "resources_in_use": 0, "products": []}
        ).products
        == []
    )
    for count, products in [(2, []), (0, ["cvm"]), (2, ["cvm", "cvm"]), (1, ["CVM"])]:
        with pytest.raises(ValidationError):
            ResourcesStanding.model_validate(
                {"as_of": AS_OF, "resources_in_use": count, "products": products}
            )


def test_can_2_cam_standing_counts_collaborators_sub_users_and_recipients() -> None:
    cam = CamStanding.model_validate(
        {"as_of": AS_OF, "collaborators": 1, "sub_users": 2, "message_recipients": 0}
    )
    assert (cam.collaborators, cam.sub_users, cam.message_recipients) == (1, 2, 0)
    assert [loc for loc, _ in problems(CamStanding, {"as_of": AS_OF, "collaborators": 0})] == [
        "sub_users",
        "message_recipients",
    ]


def test_rn_12_sub_account_facts_name_the_root_account() -> None:
    created = SubAccountCreated.model_validate({"root_account_id": ACCOUNT, "created_at": AS_OF})
    associated = SubAccountAssociated.model_validate(
        {"root_account_id": ACCOUNT, "associated_at": AS_OF}
    )
    assert created.root_account_id == associated.root_account_id == ACCOUNT
    for root in ["", "0100", "12a", "1" * 20]:
        assert problems(SubAccountCreated, {"root_account_id": root, "created_at": AS_OF}) == [
            ("root_account_id", "string_pattern_mismatch")
        ]


def test_can_2_complaints_list_the_open_cases_each_once() -> None:
    case = {"case_id": "C-7781", "kind": "complaint", "opened_at": "2026-11-20T09:00:00Z"}
    standing = ComplaintsStanding.model_validate({"as_of": AS_OF, "open_cases": [case]})
    assert [c.case_id for c in standing.open_cases] == ["C-7781"]
    assert ComplaintsStanding.model_validate({"as_of": AS_OF, "open_cases": []}).open_cases == []
    with pytest.raises(ValidationError, match="each case_id at most once"):
        ComplaintsStanding.model_validate(
            {"as_of": AS_OF, "open_cases": [case, {**case, "kind": "report"}]}
        )
    assert problems(
        ComplaintsStanding, {"as_of": AS_OF, "open_cases": [{**case, "status": "open"}]}
    ) == [("open_cases.0.status", "extra_forbidden")]


def test_ext_a_fact_travels_in_the_envelope_and_decodes_back() -> None:
    standing = BillingStanding.model_validate(billing(overdue_fen=5))
    envelope = new_envelope(standing, producer="billing", account_id=ACCOUNT)
    back = decode(encode(envelope), REGISTRY)
    assert back.payload == standing and back.producer == "billing"
    assert back.account_id == ACCOUNT and back.type == "BillingStanding"


def test_ext_a_fact_about_no_account_is_invalid() -> None:
    envelope = new_envelope(
        BillingStanding.model_validate(billing()), producer="billing", account_id=ACCOUNT
    )
    raw = encode(envelope).replace(f'"account_id":"{ACCOUNT}"'.encode(), b'"account_id":""')
    with pytest.raises(InvalidEvent, match="must name an account"):
        decode(raw, REGISTRY)
