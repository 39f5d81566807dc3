"""Identity's pure rules: passwords, channels, login methods, status, projects."""

from __future__ import annotations

import pytest

from services.identity.domain.accounts import may_log_in, status_of
from services.identity.domain.channels import InvalidPhone, normalise_phone
from services.identity.domain.login_methods import (
    Identity,
    LastMethod,
    MethodAlreadyBound,
    OfficialAccountSlotTaken,
    QuotaExceeded,
    check_can_bind,
    check_can_unbind,
    quota,
)
from services.identity.domain.passwords import PasswordPolicyViolation, check_password, violations
from services.identity.domain.projects import ProjectNameInvalid, check_project
from shared.events import AccountStatus, LoginMethodKind

pytestmark = pytest.mark.unit
K = LoginMethodKind


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("Ab1!xyz", "PASSWORD_TOO_SHORT"),
        ("Ab1!" + "x" * 17, "PASSWORD_TOO_LONG"),
        ("Ab1! xyzw", "PASSWORD_HAS_SPACE"),
        ("ab1!xyzw", "PASSWORD_NEEDS_UPPERCASE"),
        ("AB1!XYZW", "PASSWORD_NEEDS_LOWERCASE"),
        ("Abc!xyzw", "PASSWORD_NEEDS_DIGIT"),
        ("Abc1xyzw", "PASSWORD_NEEDS_SPECIAL"),
        ("Abc1!xyzé", "PASSWORD_NOT_PRINTABLE"),
    ],
)
def test_pwd_1_each_broken_rule_has_its_own_code(password: str, code: str) -> None:
    """PWD-1: 8-20 characters, upper, lower, digit, special, no spaces."""
    assert code in violations(password)
    with pytest.raises(PasswordPolicyViolation) as err:
        check_password(password)
    assert code in [v["code"] for v in err.value.details["violations"]]


def test_pwd_1_a_good_password_passes_and_the_email_is_refused() -> None:
    """PWD-1: not equal to the account's email, case-insensitively."""
    assert violations("Abcd123!@#") == []
    assert violations("Good1!pass", email="GOOD1!PASS") == ["PASSWORD_EQUALS_EMAIL"]
    assert len("Ab1!" + "x" * 16) == 20 and violations("Ab1!" + "x" * 16) == []


def test_sec_5_phones_become_e164() -> None:
    """SEC-5: validated and normalised; national numbers read as mainland China."""
    assert normalise_phone("181 1234 1234") == "+8618112341234"
    assert normalise_phone("+1 (650) 253-0000") == "+16502530000"
    for bad in ("12345", "not a phone", "+86 100"):
        with pytest.raises(InvalidPhone):
            normalise_phone(bad)


def test_lm_2_quotas() -> None:
    """LM-2: WeChat up to 50 accounts; QQ, email, Official Account and WeCom one."""
    assert quota(K.WECHAT, 50) == 50
    assert {quota(k, 50) for k in (K.QQ, K.EMAIL, K.OFFICIAL_ACCOUNT, K.WECOM)} == {1}
    check_can_bind(Identity(K.WECHAT, "u1"), {}, 49, 50)
    with pytest.raises(QuotaExceeded):
        check_can_bind(Identity(K.WECHAT, "u1"), {}, 50, 50)


def test_lm_1_one_method_of_each_kind_per_account() -> None:
    with pytest.raises(MethodAlreadyBound):
        check_can_bind(Identity(K.QQ, "q2"), {K.QQ: None}, 0, 1)


def test_lm_8_the_official_account_slot_holds_one_of_the_two() -> None:
    """LM-8: an account bound to an Official Account unbinds it before a Mini Program."""
    with pytest.raises(OfficialAccountSlotTaken) as err:
        check_can_bind(
            Identity(K.OFFICIAL_ACCOUNT, "wxapp", "mini_program"),
            {K.OFFICIAL_ACCOUNT: "official_account"},
            0,
            1,
        )
    assert err.value.details == {"bound": "official_account"}


def test_lm_4_the_only_method_cannot_be_unbound() -> None:
    with pytest.raises(LastMethod):
        check_can_unbind(K.EMAIL, [K.EMAIL])
    check_can_unbind(K.EMAIL, [K.EMAIL, K.WECHAT])


def test_acc_3_status() -> None:
    """ACC-3: frozen by any reason, cancelled wins; frozen may log in, cancelled may not."""
    assert status_of(False, []) is AccountStatus.ACTIVE
    assert status_of(False, ["overdue"]) is AccountStatus.FROZEN
    assert status_of(True, ["overdue"]) is AccountStatus.CANCELLED
    assert may_log_in(AccountStatus.FROZEN) and not may_log_in(AccountStatus.CANCELLED)


def test_prj_1_names_are_required_and_bounded() -> None:
    assert check_project("  shop ", " d ") == ("shop", "d")
    for bad in ("", "   ", "x" * 65):
        with pytest.raises(ProjectNameInvalid):
            check_project(bad, "")
