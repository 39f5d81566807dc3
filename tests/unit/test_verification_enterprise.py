"""Verification's pure enterprise rules: RN-5 amounts, tries and payment matching, RN-6
legal persons, RN-8 codes and registry answers, RN-15 licences too new, and the timers'
backoff."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from random import Random

import pytest

from devkit.testing.enterprises import random_uscc
from devkit.testing.people import resident_id
from services.verification.domain.enterprise import (
    AmountRight,
    AmountWrong,
    Attempt,
    AttemptState,
    Enterprise,
    EnterpriseMethod,
    LegalPerson,
    LegalPersonRegion,
    Payment,
    RegistryRecord,
    check_bank_account,
    check_enterprise,
    check_uscc,
    enter_amount,
    format_fen,
    judge_registry,
    parse_amount,
    payment_completes,
    random_amount_fen,
    working_days_after,
    wrong_amount,
)
from services.verification.domain.errors import (
    AmountInvalid,
    BankAccountInvalid,
    EnterpriseDeregistered,
    EnterpriseMismatch,
    EnterpriseNotInRegistry,
    InternationalSiteOnly,
    LegalPersonDocumentRequired,
    LegalPersonForeign,
    LicenceTooNew,
    MethodNotAllowed,
    RemittanceAmountWrong,
    RemittanceTriesExhausted,
    UsccInvalid,
)
from services.verification.domain.personal import Region
from services.verification.domain.timers import MAX_BACKOFF, retry_at

TODAY = date(2026, 11, 23)  # a Monday
SITE = "https://intl.example.com"
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def enterprise(method: EnterpriseMethod, **kw: object) -> Enterprise:
    values: dict[str, object] = {
        "region": Region.MAINLAND,
        "name": "北京示例科技有限公司",
        "uscc": "91110000600037341L",
        "legal_person_name": "张三",
        "legal_person_region": LegalPersonRegion.MAINLAND,
        "legal_person_document": resident_id(date(1980, 5, 1)),
        **kw,
    }
    return check_enterprise(
        method,
        values["region"],  # type: ignore[arg-type]
        values["name"],  # type: ignore[arg-type]
        values["uscc"],  # type: ignore[arg-type]
        values["legal_person_name"],  # type: ignore[arg-type]
        values["legal_person_region"],  # type: ignore[arg-type]
        values["legal_person_document"],  # type: ignore[arg-type]
        today=TODAY,
        minimum_age=18,
        international_site=SITE,
    )


def test_rn_8_codes_are_checked_with_gb_32100() -> None:
    assert check_uscc("9111 0000 6000 3734 1l") == "91110000600037341L"
    for bad, problem in [
        ("91110000600037341X", "checksum"),
        ("9111000060003734", "length"),
        ("A1110000600037341L", "format"),
        ("91110000600037341I", "format"),
    ]:
        with pytest.raises(UsccInvalid) as refused:
            check_uscc(bad)
        assert refused.value.details == {"problem": problem}
    code = random_uscc()
    assert check_uscc(code) == code


def test_rn_8_the_registry_must_know_the_code_under_the_name() -> None:
    checked = enterprise(EnterpriseMethod.RECHARGE)
    same = RegistryRecord(checked.uscc, "北京示例科技有限公司")
    judge_registry(same, checked, licence_issued_on=None, today=TODAY, delay_working_days=7)
    with pytest.raises(EnterpriseMismatch):
        judge_registry(
            RegistryRecord(checked.uscc, "别的公司"),
            checked,
            licence_issued_on=None,
            today=TODAY,
            delay_working_days=7,
        )
    with pytest.raises(EnterpriseNotInRegistry):
        judge_registry(None, checked, licence_issued_on=None, today=TODAY, delay_working_days=7)
    with pytest.raises(EnterpriseDeregistered):
        judge_registry(
            RegistryRecord(checked.uscc, checked.name, deregistered=True),
            checked,
            licence_issued_on=None,
            today=TODAY,
            delay_working_days=7,
        )


def test_rn_15_a_licence_younger_than_7_working_days_is_too_new_not_wrong() -> None:
    checked = enterprise(EnterpriseMethod.RECHARGE)
    issued = date(2026, 11, 20)  # a Friday: 7 working days later is Tuesday 1 December
    assert working_days_after(issued, 7) == date(2026, 12, 1)

    with pytest.raises(LicenceTooNew) as refused:
        judge_registry(None, checked, licence_issued_on=issued, today=TODAY, delay_working_days=7)
    assert refused.value.details == {"retry_from": "2026-12-01"}
    with pytest.raises(EnterpriseNotInRegistry):
        judge_registry(
            None,
            checked,
            licence_issued_on=issued,
            today=date(2026, 12, 1),
            delay_working_days=7,
        )


def test_rn_6_a_foreign_legal_person_has_no_legal_person_method() -> None:
    for method in (EnterpriseMethod.LEGAL_PERSON_WECHAT_SCAN, EnterpriseMethod.LEGAL_PERSON_FACE):
        with pytest.raises(LegalPersonForeign) as refused:
            enterprise(method, legal_person_region=LegalPersonRegion.FOREIGN)
        assert refused.value.details == {
            "allowed_methods": ["wechat_official_platform", "recharge", "remittance"]
        }
    for method in (EnterpriseMethod.WECHAT_OFFICIAL_PLATFORM, EnterpriseMethod.RECHARGE):
        assert enterprise(method, legal_person_region=LegalPersonRegion.FOREIGN).uscc


def test_rn_5_legal_person_methods_check_the_legal_persons_document() -> None:
    checked = enterprise(EnterpriseMethod.LEGAL_PERSON_FACE)
    assert checked.legal_person.checked is not None
    assert (
        checked.legal_person.document_masked
        == "1****************" + (checked.legal_person.checked.document_number[-1])
    )
    with pytest.raises(LegalPersonDocumentRequired):
        enterprise(EnterpriseMethod.LEGAL_PERSON_FACE, legal_person_document=None)
    # RN-4 holds for legal persons too: permits by WeChat scan only.
    with pytest.raises(MethodNotAllowed):
        enterprise(
            EnterpriseMethod.LEGAL_PERSON_FACE,
            legal_person_region=LegalPersonRegion.HONG_KONG,
            legal_person_document="H12345678",
        )
    assert enterprise(
        EnterpriseMethod.LEGAL_PERSON_WECHAT_SCAN,
        legal_person_region=LegalPersonRegion.HONG_KONG,
        legal_person_document="H12345678",
    ).legal_person.checked
    assert enterprise(EnterpriseMethod.RECHARGE).legal_person.checked is None


def test_rn_4_only_mainland_enterprises_verify_here() -> None:
    with pytest.raises(InternationalSiteOnly):
        enterprise(EnterpriseMethod.RECHARGE, region=Region.HONG_KONG)


def test_rn_5_amounts_are_under_one_yuan_and_typed_in_yuan() -> None:
    rng = Random(7)
    amounts = {random_amount_fen(rng) for _ in range(2000)}
    assert amounts == set(range(1, 100))
    assert [parse_amount(t) for t in ("0.37", ".37", "0.3", " 0.05 ")] == [37, 37, 30, 5]
    for bad in ("1.00", "0", "0.001", "-0.37", "abc", "NaN", "Infinity", "0,37"):
        with pytest.raises(AmountInvalid):
            parse_amount(bad)
    assert format_fen(7) == "0.07" and format_fen(37) == "0.37"


def attempt(**kw: object) -> Attempt:
    values: dict[str, object] = {
        "id": 1,
        "account_id": "100000000001",
        "method": EnterpriseMethod.RECHARGE,
        "state": AttemptState.OPEN,
        "name": "杭州示例（集团）有限公司",
        "uscc": "91110000600037341L",
        "legal_person_name_masked": "张*",
        "legal_person_region": "mainland",
        "amount_fen": 37,
        "tries_left": 2,
        "bank_name": None,
        "bank_account_masked": None,
        "claim_id": 1,
        "created_at": NOW,
        "expires_at": NOW + timedelta(days=7),
        **kw,
    }
    return Attempt(**values)  # type: ignore[arg-type]


def test_rn_5_two_tries_then_the_bank_account_again() -> None:
    remit = attempt(method=EnterpriseMethod.REMITTANCE)
    assert enter_amount(remit, 37) == AmountRight()
    first = enter_amount(remit, 36)
    assert isinstance(first, AmountWrong) and first.tries_left == 1
    assert isinstance(wrong_amount(first), RemittanceAmountWrong)
    last = enter_amount(attempt(method=EnterpriseMethod.REMITTANCE, tries_left=1), 36)
    assert isinstance(last, AmountWrong)
    assert isinstance(wrong_amount(last), RemittanceTriesExhausted)


def test_rn_5_a_recharge_completes_on_the_amount_from_the_corporate_account_in_time() -> None:
    pending = attempt()
    paid = Payment(37, True, "杭州示例(集团)有限公司", NOW + timedelta(days=1))
    assert payment_completes(pending, paid)
    for other in (
        Payment(38, True, paid.payer_name, paid.received_at),
        Payment(37, False, paid.payer_name, paid.received_at),
        Payment(37, True, "别的公司", paid.received_at),
        Payment(37, True, paid.payer_name, NOW + timedelta(days=7)),
        Payment(37, True, paid.payer_name, NOW - timedelta(seconds=1)),
    ):
        assert not payment_completes(pending, other)
    assert not payment_completes(attempt(method=EnterpriseMethod.REMITTANCE), paid)
    assert not payment_completes(attempt(state=AttemptState.EXPIRED), paid)


def test_rn_17_bank_accounts_are_digits_and_never_shown_whole() -> None:
    account = check_bank_account(" 工商银行 北京分行 ", "6222 0200 1234 5678 901")
    assert account.number == "6222020012345678901"
    assert account.masked == "*" * 15 + "8901"
    assert "6222020012345678901" not in repr(account)
    for bad in ("1234567", "1" * 31, "6222abc0012345678", "６２２２０２００１２３４"):
        with pytest.raises(BankAccountInvalid):
            check_bank_account("工商银行", bad)


def test_timers_retry_with_a_doubling_capped_backoff() -> None:
    base = timedelta(seconds=5)
    assert retry_at(NOW, 1, base) == NOW + base
    assert retry_at(NOW, 3, base) == NOW + 4 * base
    assert retry_at(NOW, 500, base) == NOW + MAX_BACKOFF


def test_rn_7_an_enterprise_is_counted_by_its_code() -> None:
    one = enterprise(EnterpriseMethod.RECHARGE)
    renamed = Enterprise(
        one.method, "北京新名字有限公司", one.uscc, LegalPerson("李四", one.legal_person.region)
    )
    assert one.identity_key == renamed.identity_key == "uscc:91110000600037341L"
