"""RN-2, RN-3, RN-4 and PROT-1 over HTTP, the real broker, PostgreSQL and Redis: personal
verification by WeChat scan, QQ scan or face through the provider port (the fake told to
pass, fail or time out), the ID number and age checks, the quota of 3 accounts per identity
under concurrency, the rules for Hong Kong, Macao and Taiwan residents, and the step-up."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest

from devkit.testing.people import random_resident_id, resident_id
from shared.events import AccountStatus
from tests.integration.verification.conftest import VerificationApp

pytestmark = pytest.mark.integration


def code(reply: object) -> str:
    return str(reply.json()["error"]["code"])  # type: ignore[attr-defined]


@pytest.mark.parametrize("method", ["wechat_scan", "qq_scan", "face"])
async def test_rn_2_each_personal_method_verifies_at_once(
    verification: VerificationApp, method: str
) -> None:
    account = await verification.register()

    reply = await verification.verify_person(account, random_resident_id(), method=method)

    assert reply.status_code == 201, reply.text
    assert (reply.json()["status"], reply.json()["method"]) == ("verified", method)


async def test_rn_2_a_check_the_provider_fails_verifies_nothing_and_counts_nothing(
    verification: VerificationApp,
) -> None:
    number = random_resident_id()
    refused = await verification.register()
    await verification.tell(refused, "fail")

    reply = await verification.verify_person(refused, number)
    others = [await verification.register() for _ in range(3)]
    passed = [await verification.verify_person(a, number) for a in others]

    assert reply.status_code == 400
    assert code(reply) == "PERSON_NOT_CONFIRMED"
    assert [p.status_code for p in passed] == [201, 201, 201], "the failure took no place"
    status = await verification.client.get("/v1/real-name", headers=verification.auth(refused))
    assert status.json()["status"] == "unverified" and status.json()["history"] == []


async def test_rn_2_a_check_that_times_out_is_504_and_frees_its_place(
    verification: VerificationApp,
) -> None:
    account = await verification.register()
    number = random_resident_id()
    await verification.tell(account, "timeout")

    slow = await verification.verify_person(account, number)
    await verification.tell(account, "pass")
    again = await verification.verify_person(account, number)

    assert slow.status_code == 504
    assert code(slow) == "PROVIDER_TIMEOUT"
    assert again.status_code == 201, again.text


async def test_rn_3_an_invalid_id_number_is_refused_before_anything_is_counted(
    verification: VerificationApp,
) -> None:
    account = await verification.register()
    valid = random_resident_id()
    wrong_checksum = valid[:-1] + ("0" if valid[-1] != "0" else "1")

    reply = await verification.verify_person(account, wrong_checksum)
    short = await verification.verify_person(account, valid[:17])

    assert reply.status_code == short.status_code == 400
    assert reply.json()["error"] == {
        "code": "ID_NUMBER_INVALID",
        "message": "The ID number is not valid (checksum).",
        "details": {"problem": "checksum"},
    }
    assert short.json()["error"]["details"]["problem"] == "length"


async def test_rn_3_a_person_under_18_on_the_day_of_the_check_is_refused(
    verification: VerificationApp,
) -> None:
    account = await verification.register()
    china_today = (datetime.now(UTC) + timedelta(hours=8)).date()
    try:
        eighteen_today = china_today.replace(year=china_today.year - 18)
    except ValueError:  # 29 February: that year has none
        eighteen_today = date(china_today.year - 18, 3, 1)
    eighteen_tomorrow = eighteen_today + timedelta(days=1)

    young = await verification.verify_person(account, resident_id(eighteen_tomorrow))

    assert young.status_code == 400
    assert code(young) == "UNDERAGE"
    assert young.json()["error"]["details"] == {"minimum_age": 18}


async def test_rn_3_one_identity_verifies_at_most_3_accounts_under_concurrency(
    verification: VerificationApp,
) -> None:
    """10 parallel submissions of one ID number for 10 accounts: exactly 3 verified."""
    number = random_resident_id()
    accounts = [await verification.register() for _ in range(10)]

    replies = await asyncio.gather(*(verification.verify_person(a, number) for a in accounts))

    statuses = sorted(r.status_code for r in replies)
    assert statuses == [201] * 3 + [409] * 7, [r.text for r in replies]
    refused = [r for r in replies if r.status_code == 409]
    assert {code(r) for r in refused} == {"IDENTITY_QUOTA_EXCEEDED"}
    assert refused[0].json()["error"]["details"] == {"limit": 3}
    winners = [a for a, r in zip(accounts, replies, strict=True) if r.status_code == 201]
    for account in winners:
        await verification.events_of(account, 2)
    losers = [a for a in accounts if a not in winners]
    assert all([await verification.events(a) == [] for a in losers])


async def test_rn_3_the_quota_counts_the_identity_not_how_its_number_is_typed(
    verification: VerificationApp,
) -> None:
    born = date(1985, 6, 1)
    number = resident_id(born, serial=int(datetime.now(UTC).timestamp()) % 1000)
    lower_x = number[:-1] + "x" if number.endswith("X") else number
    accounts = [await verification.register() for _ in range(4)]
    forms = [number, f" {number} ", lower_x, number[:6] + " " + number[6:]]

    replies = [await verification.verify_person(a, f) for a, f in zip(accounts, forms, strict=True)]

    assert [r.status_code for r in replies] == [201, 201, 201, 409]


async def test_rn_3_rn_9_a_verified_account_verifying_again_is_a_change_30_days_later(
    verification: VerificationApp,
) -> None:
    account = await verification.register()
    assert (await verification.verify_person(account, random_resident_id())).status_code == 201

    again = await verification.verify_person(account, random_resident_id())

    assert again.status_code == 409
    assert code(again) == "CHANGE_TOO_SOON"


@pytest.mark.parametrize(
    ("region", "number"),
    [("hong_kong", "H12345678"), ("macao", "M1234567801"), ("taiwan", "12345678")],
)
async def test_rn_4_hong_kong_macao_taiwan_residents_verify_by_wechat_scan_with_a_permit(
    verification: VerificationApp, region: str, number: str
) -> None:
    account = await verification.register()
    suffix = str(int(account) % 10**6).zfill(6)
    permit = number[:-6] + suffix if region != "macao" else number[:-8] + suffix + "01"

    by_qq = await verification.verify_person(account, permit, region=region, method="qq_scan")
    by_face = await verification.verify_person(account, permit, region=region, method="face")
    with_id_card = await verification.verify_person(account, random_resident_id(), region=region)
    by_wechat = await verification.verify_person(account, permit, region=region)

    assert by_qq.status_code == by_face.status_code == 400
    assert code(by_qq) == code(by_face) == "METHOD_NOT_ALLOWED"
    assert by_qq.json()["error"]["details"]["allowed_methods"] == ["wechat_scan"]
    assert code(with_id_card) == "PERMIT_NUMBER_INVALID"
    assert by_wechat.status_code == 201, by_wechat.text
    person = by_wechat.json()["person"]
    assert person["region"] == region
    assert person["document"] == permit[0] + "*" * (len(permit) - 2) + permit[-1]


async def test_rn_4_international_users_are_sent_to_the_international_site(
    verification: VerificationApp,
) -> None:
    account = await verification.register()

    reply = await verification.verify_person(account, "P1234567", region="international")

    assert reply.status_code == 403
    assert code(reply) == "INTERNATIONAL_SITE_ONLY"
    assert reply.json()["error"]["details"]["international_site"].startswith("https://")


async def test_prot_1_submitting_real_name_data_needs_a_fresh_step_up(
    verification: VerificationApp,
) -> None:
    account = await verification.register()
    number = random_resident_id()
    stale = datetime.now(UTC) - timedelta(seconds=verification.ctx.settings.step_up_max_age_s + 5)

    without = await verification.verify_person(account, number, step_up=False)
    old = await verification.client.post(
        "/v1/real-name/personal",
        json={"method": "face", "name": "张三", "document_number": number},
        headers=verification.tokens.headers(account, stepped_up_at=stale),
    )

    assert without.status_code == old.status_code == 403
    assert code(without) == code(old) == "STEP_UP_REQUIRED"
    assert without.json()["error"]["details"]["step_up"] == "POST /v1/me/step-up"
    status = await verification.client.get("/v1/real-name", headers=verification.auth(account))
    assert status.json()["status"] == "unverified"


async def test_dev_endpoints_are_absent_outside_dev_mode() -> None:
    from services.verification.main import spec
    from services.verification.settings import VerificationSettings
    from shared.secret_box import key_ring_spec
    from shared.service import create_app

    settings = VerificationSettings(
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
    paths = set(create_app(spec(settings)).openapi()["paths"])

    assert "/v1/real-name/personal" in paths
    assert "/v1/real-name/enterprise" in paths
    assert not [p for p in paths if p.startswith("/v1/dev")]


async def test_rn_3_a_cancelled_account_frees_its_place_in_the_identity_s_quota(
    verification: VerificationApp,
) -> None:
    """CAN-7: a cancelled account's real-name quota is released."""
    number = random_resident_id()
    accounts = [await verification.register() for _ in range(4)]
    for account in accounts[:3]:
        assert (await verification.verify_person(account, number)).status_code == 201
    assert code(await verification.verify_person(accounts[3], number)) == "IDENTITY_QUOTA_EXCEEDED"

    await verification.set_status(accounts[0], AccountStatus.CANCELLED)
    fourth = await verification.verify_person(accounts[3], number)

    assert fourth.status_code == 201, fourth.text
    kept = await verification.client.get("/v1/real-name", headers=verification.auth(accounts[0]))
    assert kept.json()["status"] == "verified", "the cancelled account's real name stays"


async def test_rn_3_parallel_submissions_of_one_account_verify_it_once(
    verification: VerificationApp,
) -> None:
    account = await verification.register()
    numbers = [random_resident_id() for _ in range(5)]

    replies = await asyncio.gather(*(verification.verify_person(account, n) for n in numbers))

    assert sorted(r.status_code for r in replies) == [201] + [409] * 4, [r.text for r in replies]
    assert {code(r) for r in replies if r.status_code == 409} <= {
        "VERIFICATION_IN_PROGRESS",
        "ALREADY_VERIFIED",
        "CHANGE_TOO_SOON",
    }
    events = await verification.events_of(account, 2)
    assert [e.type for e in events] == ["RealNameChanged", "RealNameVerified"]
    # The losers' identities are free: each verifies another account.
    winner = next(n for n, r in zip(numbers, replies, strict=True) if r.status_code == 201)
    for number in numbers:
        if number != winner:
            other = await verification.register()
            assert (await verification.verify_person(other, number)).status_code == 201


@pytest.mark.verification_settings(
    person_provider="http",
    person_provider_url="http://127.0.0.1:9/check",
    person_provider_token="t",
)
async def test_rn_2_an_unreachable_provider_is_503_and_counts_nothing(
    verification: VerificationApp,
) -> None:
    account = await verification.register()
    number = random_resident_id()

    replies = [await verification.verify_person(account, number) for _ in range(4)]

    assert [r.status_code for r in replies] == [503] * 4
    assert {code(r) for r in replies} == {"PROVIDER_UNAVAILABLE"}
    assert (
        await verification.client.put(
            "/v1/dev/person-checks", json={"account_id": account, "outcome": "pass"}
        )
    ).json()["error"]["code"] == "FAKE_PROVIDER_NOT_SELECTED"


async def test_submissions_are_bounded_and_clean_text(verification: VerificationApp) -> None:
    account = await verification.register()

    nul = await verification.verify_person(account, random_resident_id(), name="张\x00三")
    long_name = await verification.verify_person(account, random_resident_id(), name="张" * 65)
    long_number = await verification.verify_person(account, "1" * 33)
    unknown_method = await verification.verify_person(account, random_resident_id(), method="sms")

    assert nul.status_code == 422 and code(nul) == "TEXT_INVALID"
    assert {r.status_code for r in (long_name, long_number, unknown_method)} == {422}
    assert {code(r) for r in (long_name, long_number, unknown_method)} == {"INVALID_REQUEST"}


@pytest.mark.verification_settings(person_submissions_per_day=2)
async def test_an_account_s_valid_submissions_of_a_day_are_bounded(
    verification: VerificationApp,
) -> None:
    """Each valid submission may cost a provider check: names and numbers are not to be
    guessed through them. Invalid ones are refused before they count."""
    account = await verification.register()
    await verification.tell(account, "fail")

    invalid = [await verification.verify_person(account, "123") for _ in range(3)]
    counted = [await verification.verify_person(account, random_resident_id()) for _ in range(2)]
    await verification.tell(account, "pass")
    refused = await verification.verify_person(account, random_resident_id())
    other = await verification.register()
    elsewhere = await verification.verify_person(other, random_resident_id())

    assert {r.status_code for r in invalid} == {400}
    assert [code(r) for r in counted] == ["PERSON_NOT_CONFIRMED"] * 2
    assert refused.status_code == 429
    assert code(refused) == "SUBMISSIONS_EXHAUSTED"
    details = refused.json()["error"]["details"]
    assert details["limit"] == 2 and 0 < details["retry_after_s"] <= 86400
    assert elsewhere.status_code == 201, "the limit is per account"


@pytest.mark.verification_settings(person_submissions_per_day=2)
async def test_the_day_s_submissions_are_counted_atomically(
    verification: VerificationApp,
) -> None:
    """8 parallel submissions of one account with 2 a day: exactly 2 get past the count (to
    the provider, or to the one-check-at-a-time refusal of the same account)."""
    account = await verification.register()
    await verification.tell(account, "fail")

    replies = await asyncio.gather(
        *(verification.verify_person(account, random_resident_id()) for _ in range(8))
    )

    codes = [code(r) for r in replies]
    assert codes.count("SUBMISSIONS_EXHAUSTED") == 6, codes
    assert set(codes) - {"SUBMISSIONS_EXHAUSTED"} <= {
        "PERSON_NOT_CONFIRMED",
        "VERIFICATION_IN_PROGRESS",
    }
