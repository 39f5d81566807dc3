"""CAN-7's pure parts: which values name a person and in which forms they are searched for
and redacted (identity and verification)."""

from __future__ import annotations

from services.identity.domain.erasure import personal_data, phone_forms
from services.verification.domain.erasure import search_forms


def test_can_7_a_phone_is_searched_in_e164_without_plus_and_as_its_national_digits() -> None:
    assert phone_forms("+8618112341234") == {"+8618112341234", "8618112341234", "18112341234"}
    assert phone_forms("+14155550123") >= {"+14155550123", "4155550123"}


def test_can_7_identity_sorts_channels_methods_and_appeals_into_what_to_erase() -> None:
    data = personal_data(
        7,
        channels=["+8618112341234", "Ann@example.com", None, "billing@example.com"],
        methods=[("email", "ann@example.com"), ("wechat", "union-ann")],
        appeal_emails=["new@example.com"],
        flow_ids=["f1"],
    )
    assert data.login_email_key == "ann@example.com"
    assert data.phones == {"+8618112341234"}
    assert data.destinations == {
        "+8618112341234",
        "Ann@example.com",
        "ann@example.com",
        "billing@example.com",
        "new@example.com",
    }
    forms = data.search_forms()
    assert {"18112341234", "union-ann", "ann@example.com"} <= set(forms)
    assert [len(f) for f in forms] == sorted((len(f) for f in forms), reverse=True)


def test_can_7_an_account_without_methods_has_no_login_subject() -> None:
    data = personal_data(8, channels=[None], methods=[], appeal_emails=[])
    assert data.login_email_key is None and data.search_forms() == []


def test_can_7_verification_searches_each_value_in_its_cases_longest_first() -> None:
    forms = search_forms(["11010519491231002x", " 北京示例 ", ""])
    assert forms[:2] == ["11010519491231002X", "11010519491231002x"]
    assert "北京示例" in forms and "" not in forms
