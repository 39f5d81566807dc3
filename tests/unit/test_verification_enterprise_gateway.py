"""The enterprise gateway's HTTP client without the network (RN-5, RN-8, RN-15): registry
lookups, instant checks and remittances, their tokens, refusals and failures."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from services.verification.adapters.enterprises import (
    BankRefusedTransfer,
    EnterpriseCheck,
    HttpEnterpriseGateway,
    Transfer,
)
from services.verification.adapters.persons import ProviderDown
from services.verification.domain.enterprise import RegistryRecord

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
CODE = "91110000600037341L"
TRANSFER = Transfer(
    key="verification-remittance-7",
    account_id="100000000001",
    account_name="北京示例科技有限公司",
    bank_name="工商银行",
    account_number="6222020012345678901",
    amount_fen=37,
)


def gateway(
    answer: Callable[[httpx.Request], httpx.Response], seen: list[httpx.Request]
) -> HttpEnterpriseGateway:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handle))
    return HttpEnterpriseGateway("https://egw.example.com/", "tok", client=client)


async def test_rn_8_the_registry_answers_a_record_none_or_is_down() -> None:
    seen: list[httpx.Request] = []
    known = gateway(lambda _: httpx.Response(200, json={"name": "甲", "status": "active"}), seen)
    gone = gateway(lambda _: httpx.Response(200, json={"name": "甲", "status": "deregistered"}), [])
    missing = gateway(lambda _: httpx.Response(404), [])
    broken = gateway(lambda _: httpx.Response(200, json={"nom": "甲"}), [])
    down = gateway(lambda _: httpx.Response(502), [])

    assert await known.lookup(CODE) == RegistryRecord(CODE, "甲")
    assert str(seen[0].url) == f"https://egw.example.com/registry/{CODE}"
    assert seen[0].headers["authorization"] == "Bearer tok"
    assert await gone.lookup(CODE) == RegistryRecord(CODE, "甲", deregistered=True)
    assert await missing.lookup(CODE) is None
    for failing in (broken, down):
        with pytest.raises(ProviderDown):
            await failing.lookup(CODE)


async def test_rn_5_an_instant_check_is_asked_and_answered() -> None:
    seen: list[httpx.Request] = []
    passing = gateway(lambda _: httpx.Response(200, json={"result": "pass"}), seen)
    failing = gateway(lambda _: httpx.Response(200, json={"result": "fail", "reason": "x"}), [])
    vague = gateway(lambda _: httpx.Response(200, json={"result": "maybe"}), [])
    check = EnterpriseCheck(
        "100000000001", "legal_person_face", "甲", CODE, "张三", "resident_id", "1"
    )

    assert (await passing.check(check)).passed
    assert json.loads(seen[0].content)["uscc"] == CODE
    assert (await failing.check(check)).reason == "x"
    with pytest.raises(ProviderDown):
        await vague.check(check)
    assert "张三" not in repr(check)


async def test_rn_5_a_remittance_is_sent_once_per_key_and_a_refusal_is_named() -> None:
    seen: list[httpx.Request] = []
    bank = gateway(lambda _: httpx.Response(201, json={"reference": "B-1"}), seen)
    refusing = gateway(lambda _: httpx.Response(422, json={"error": "no such account"}), [])
    down = gateway(lambda _: httpx.Response(503), [])

    sent = await bank.send(TRANSFER, now=NOW)

    assert (sent.reference, sent.at) == ("B-1", NOW)
    assert seen[0].headers["idempotency-key"] == TRANSFER.key
    assert json.loads(seen[0].content)["amount_fen"] == 37
    with pytest.raises(BankRefusedTransfer):
        await refusing.send(TRANSFER, now=NOW)
    with pytest.raises(ProviderDown):
        await down.send(TRANSFER, now=NOW)
    assert TRANSFER.account_number not in repr(TRANSFER)
