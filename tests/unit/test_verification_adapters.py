"""Verification's adapters without the network: the real-name gateway's client (RN-2) and
the sealing of sensitive data (RN-17)."""

from __future__ import annotations

import json

import httpx
import pytest

from services.verification.adapters.persons import HttpPersonProvider, PersonCheck, ProviderDown
from services.verification.adapters.sensitive import Purpose, SensitiveData
from shared.secret_box import SecretUnreadable

pytestmark = pytest.mark.unit

CHECK = PersonCheck(
    account_id="100000000001",
    method="face",
    region="mainland",
    document_kind="resident_id",
    document_number="11010119900307001X",
    name="张三",
)


def gateway(answer: httpx.Response | Exception, seen: list[httpx.Request]) -> HttpPersonProvider:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if isinstance(answer, Exception):
            raise answer
        return answer

    client = httpx.AsyncClient(transport=httpx.MockTransport(handle))
    return HttpPersonProvider("https://gw.example.com/check", "tok", client=client)


async def test_rn_2_the_gateway_is_asked_with_the_check_and_its_token() -> None:
    seen: list[httpx.Request] = []
    provider = gateway(httpx.Response(200, json={"result": "pass"}), seen)

    result = await provider.check(CHECK)

    assert result.passed
    (request,) = seen
    assert request.headers["authorization"] == "Bearer tok"
    assert json.loads(request.content)["document_number"] == CHECK.document_number


async def test_rn_2_a_fail_carries_the_gateway_s_reason() -> None:
    provider = gateway(httpx.Response(200, json={"result": "fail", "reason": "face_mismatch"}), [])

    result = await provider.check(CHECK)

    assert (result.passed, result.reason) == (False, "face_mismatch")


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(500),
        httpx.Response(200, content=b"not json"),
        httpx.Response(200, json={"result": "maybe"}),
        httpx.Response(200, json=["pass"]),
        httpx.ConnectError("refused"),
    ],
)
async def test_rn_2_no_verdict_is_provider_down_without_the_number(
    answer: httpx.Response | Exception,
) -> None:
    with pytest.raises(ProviderDown) as down:
        await gateway(answer, []).check(CHECK)
    assert CHECK.document_number not in str(down.value)
    assert CHECK.document_number not in repr(CHECK)


def test_rn_17_sealed_values_open_only_for_their_account_and_purpose() -> None:
    sensitive = SensitiveData({"k1": b"a" * 32}, "k1", hash_key=b"h" * 32)
    sealed = sensitive.seal(Purpose.PERSON, {"document_number": "X1"}, account_id="1")

    assert sensitive.open(Purpose.PERSON, sealed, account_id="1") == {"document_number": "X1"}
    assert b"X1" not in sealed.ciphertext
    for purpose, account in ((Purpose.PERSON, "2"), (Purpose.BANK_ACCOUNT, "1")):
        with pytest.raises(SecretUnreadable):
            sensitive.open(purpose, sealed, account_id=account)


def test_rn_17_fingerprints_are_keyed() -> None:
    one = SensitiveData({"k1": b"a" * 32}, "k1", hash_key=b"h" * 32)
    other = SensitiveData({"k1": b"a" * 32}, "k1", hash_key=b"g" * 32)

    assert one.fingerprint(Purpose.PERSON, "n") == one.fingerprint(Purpose.PERSON, "n")
    assert one.fingerprint(Purpose.PERSON, "n") != other.fingerprint(Purpose.PERSON, "n")
    assert one.fingerprint(Purpose.PERSON, "n") != one.fingerprint(Purpose.BANK_ACCOUNT, "n")
