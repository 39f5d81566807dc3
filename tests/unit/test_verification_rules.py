"""Verification's pure rules: RN-1 status changes, RN-3 ID numbers and age, RN-4 regions and
methods, RN-17 masking, and the settings' refusals outside dev mode."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from devkit.testing.people import resident_id
from services.verification.domain import status
from services.verification.domain.errors import (
    AlreadyVerified,
    IdNumberInvalid,
    InternationalSiteOnly,
    MethodNotAllowed,
    NameInvalid,
    PermitNumberInvalid,
    Underage,
    VerificationPending,
)
from services.verification.domain.masking import mask_document, mask_name
from services.verification.domain.personal import (
    Person,
    PersonalMethod,
    Region,
    age_on,
    check_person,
    china_day,
    ensure_enterprise_region,
)
from services.verification.settings import VerificationSettings
from shared.events import RealNameMethod, RealNameStatus, RealNameSubject
from shared.secret_box import key_ring_spec

pytestmark = pytest.mark.unit

AT = datetime(2026, 5, 1, tzinfo=UTC)
SITE = "https://intl.example.com"
WECHAT = PersonalMethod.WECHAT_SCAN


def person(
    number: str,
    region: Region = Region.MAINLAND,
    method: PersonalMethod = WECHAT,
    *,
    today: date = date(2026, 5, 1),
) -> Person:
    return check_person(
        method, region, "张三", number, today=today, minimum_age=18, international_site=SITE
    )


# --- RN-1 ---------------------------------------------------------------------------


def test_rn_1_unverified_to_verified_proves_and_sets_the_last_authentication() -> None:
    current = status.RealName.unverified("1")
    change = status.verify(current, RealNameSubject.PERSONAL, RealNameMethod.FACE, at=AT)
    after = change.applied_to(current)

    assert change.proves
    assert (after.status, after.subject, after.method, after.verified_at) == (
        RealNameStatus.VERIFIED,
        RealNameSubject.PERSONAL,
        RealNameMethod.FACE,
        AT,
    )


def test_rn_1_pending_methods_complete_or_are_abandoned() -> None:
    current = status.RealName.unverified("1")
    pending = status.submit(current, RealNameSubject.ENTERPRISE, RealNameMethod.RECHARGE, at=AT)
    waiting = pending.applied_to(current)

    done = status.verify(waiting, RealNameSubject.ENTERPRISE, RealNameMethod.RECHARGE, at=AT)
    dropped = status.abandon(waiting, at=AT)

    assert (pending.previous, pending.status, pending.proves) == ("unverified", "pending", False)
    assert (done.previous, done.status, done.proves) == ("pending", "verified", True)
    assert (dropped.status, dropped.reason) == ("unverified", "abandoned")
    with pytest.raises(VerificationPending):
        status.verify(waiting, RealNameSubject.PERSONAL, RealNameMethod.FACE, at=AT)


def test_rn_1_a_real_name_is_never_removed_only_downgraded_for_a_named_reason() -> None:
    current = status.RealName.unverified("1")
    verified = status.verify(
        current, RealNameSubject.ENTERPRISE, RealNameMethod.REMITTANCE, at=AT
    ).applied_to(current)

    with pytest.raises(AlreadyVerified):
        status.verify(verified, RealNameSubject.PERSONAL, RealNameMethod.FACE, at=AT)
    with pytest.raises(status.IllegalChange):
        status.downgrade(verified, status.Reason.ABANDONED, at=AT)
    down = status.downgrade(verified, status.Reason.ENTITY_DEREGISTERED, at=AT)
    assert (down.status, down.reason, down.applied_to(verified).verified_at) == (
        "unverified",
        "entity_deregistered",
        AT,
    )


# --- RN-3 ---------------------------------------------------------------------------


def test_rn_3_a_valid_resident_id_passes_normalised() -> None:
    number = resident_id(date(1990, 3, 7), serial=123)

    checked = person(f" {number[:6]} {number[6:].lower()} ")

    assert checked.document_number == number
    assert checked.document_kind == "resident_id"


@pytest.mark.parametrize(
    ("mangle", "problem"),
    [
        (lambda n: n[:-1] + ("1" if n[-1] != "1" else "2"), "checksum"),
        (lambda n: n[:17], "length"),
        (lambda n: n + "1", "length"),
        (lambda n: "A" + n[1:], "format"),
    ],
)
def test_rn_3_a_wrong_id_number_names_its_problem(mangle, problem: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(IdNumberInvalid) as refused:
        person(mangle(resident_id(date(1990, 3, 7), serial=5)))
    assert refused.value.details == {"problem": problem}


def test_rn_3_an_impossible_birth_date_or_region_is_invalid() -> None:
    from stdnum.cn import ric

    feb_30 = "11010119900230001"
    unknown_region = "99999919900307001"
    for body in (feb_30, unknown_region):
        with pytest.raises(IdNumberInvalid) as refused:
            person(body + ric.calc_check_digit(body + "0"))
        assert refused.value.details == {"problem": "birth_date_or_region"}


def test_rn_3_eighteen_on_the_day_of_the_check_not_the_day_before() -> None:
    number = resident_id(date(2008, 5, 1))

    assert person(number, today=date(2026, 5, 1)).document_number == number
    with pytest.raises(Underage):
        person(number, today=date(2026, 4, 30))


def test_rn_3_a_birth_date_after_the_day_of_the_check_is_invalid() -> None:
    with pytest.raises(IdNumberInvalid):
        person(resident_id(date(2027, 1, 1)), today=date(2026, 5, 1))


def test_rn_3_born_on_29_february_is_a_year_older_on_1_march() -> None:
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18


def test_rn_3_the_day_of_the_check_is_the_day_in_china() -> None:
    assert china_day(datetime(2026, 4, 30, 16, 0, tzinfo=UTC)) == date(2026, 5, 1)
    assert china_day(datetime(2026, 4, 30, 15, 59, tzinfo=UTC)) == date(2026, 4, 30)


def test_rn_3_a_blank_name_is_refused() -> None:
    with pytest.raises(NameInvalid):
        check_person(
            WECHAT,
            Region.MAINLAND,
            "  ",
            resident_id(date(1990, 1, 1)),
            today=date(2026, 1, 1),
            minimum_age=18,
            international_site=SITE,
        )


# --- RN-4 ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "number", "kept"),
    [
        (Region.HONG_KONG, "H12345678", "H12345678"),
        (Region.HONG_KONG, "h1234567801", "H1234567801"),
        (Region.MACAO, "M87654321", "M87654321"),
        (Region.TAIWAN, "12345678", "12345678"),
        (Region.TAIWAN, "1234567890(B)", "1234567890"),
    ],
)
def test_rn_4_travel_permits_of_each_region(region: Region, number: str, kept: str) -> None:
    checked = person(number, region)

    assert checked.document_number == kept
    assert checked.region is region


@pytest.mark.parametrize(
    ("region", "number"),
    [
        (Region.HONG_KONG, "M12345678"),  # a Macao permit for Hong Kong
        (Region.MACAO, "H12345678"),
        (Region.HONG_KONG, "H1234567"),
        (Region.TAIWAN, "1234567"),
        (Region.TAIWAN, resident_id(date(1990, 1, 1))),
    ],
)
def test_rn_4_a_number_that_is_not_the_region_s_permit_is_refused(
    region: Region, number: str
) -> None:
    with pytest.raises(PermitNumberInvalid):
        person(number, region)


@pytest.mark.parametrize("method", [PersonalMethod.QQ_SCAN, PersonalMethod.FACE])
@pytest.mark.parametrize("region", [Region.HONG_KONG, Region.MACAO, Region.TAIWAN])
def test_rn_4_hong_kong_macao_taiwan_residents_use_wechat_scan_only(
    region: Region, method: PersonalMethod
) -> None:
    with pytest.raises(MethodNotAllowed):
        person("H12345678", region, method)


def test_rn_4_international_users_and_non_mainland_enterprises_go_to_the_international_site() -> (
    None
):
    with pytest.raises(InternationalSiteOnly) as personal:
        person("X", Region.INTERNATIONAL)
    for region in (Region.HONG_KONG, Region.MACAO, Region.TAIWAN, Region.INTERNATIONAL):
        with pytest.raises(InternationalSiteOnly) as enterprise:
            ensure_enterprise_region(region, international_site=SITE)
        assert enterprise.value.details == {"international_site": SITE}
    ensure_enterprise_region(Region.MAINLAND, international_site=SITE)
    assert personal.value.details == {"international_site": SITE}


# --- RN-17 --------------------------------------------------------------------------


def test_rn_17_masks_hide_the_birth_date_and_most_of_the_name() -> None:
    number = resident_id(date(1990, 3, 7), serial=1)

    assert mask_document(number) == number[0] + "*" * 16 + number[-1]
    assert "19900307" not in mask_document(number)
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_name("Chan Tai Man") == "C***"


# --- settings -----------------------------------------------------------------------


def test_the_service_refuses_to_start_outside_dev_mode_with_a_fake_or_dev_keys() -> None:
    problems = VerificationSettings(dev_mode=False).refusals()

    assert any("PERSON_PROVIDER" in p for p in problems)
    assert any("ENTERPRISE_GATEWAY" in p for p in problems)
    assert any("ID_ENCRYPTION_KEYS holds the committed dev-only key" in p for p in problems)
    assert any("ID_HASH_KEY is the committed dev-only key" in p for p in problems)
    assert any(
        "fake is for dev mode only" in p
        for p in VerificationSettings(dev_mode=False, person_provider="fake").refusals()
    )
    production = VerificationSettings(
        dev_mode=False,
        person_provider="http",
        person_provider_url="https://realname.example.com/check",
        person_provider_token="t" * 32,
        enterprise_gateway="http",
        enterprise_gateway_url="https://enterprise-gateway.example.com",
        enterprise_gateway_token="g" * 32,
        id_encryption_keys=key_ring_spec("k1", b"k" * 32),
        id_hash_key="h" * 40,
    )
    assert production.refusals() == []
    assert VerificationSettings(dev_mode=True).refusals() == []
