"""RN-17 with production logging: verification runs as its own process (JSON logs at DEBUG)
and takes submissions that pass, fail, time out, break the quota and carry a wrong checksum;
its whole log, the events and dead letters of the run, and every reply hold the ID number
only masked."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from devkit.testing.infra import Scope
from devkit.testing.kafka import publish, read_all
from devkit.testing.people import random_resident_id
from devkit.testing.services import ServiceProcess
from devkit.testing.tokens import DevTokens, jwks_server
from devkit.testing.waiting import eventually
from shared.events import AccountRegistered, LoginMethodKind, new_envelope

pytestmark = pytest.mark.e2e


def leaks(text: str, number: str) -> list[str]:
    forms = {number, number.lower(), number[:17], number.encode().hex()}
    return sorted(form for form in forms if form in text)


async def test_rn_17_a_full_run_logs_and_publishes_the_id_number_only_masked(
    scope: Scope, tmp_path: Path
) -> None:
    tokens = DevTokens()
    number = random_resident_id()
    accounts = [
        str(810_000_000_000 + int(datetime.now(UTC).timestamp()) % 10**6 * 10 + i) for i in range(6)
    ]
    with jwks_server(tokens) as jwks_url:
        env = scope.env(
            IDENTITY_JWKS_URL=jwks_url,
            LOG_LEVEL="DEBUG",
            LOG_JSON="true",
            PERSON_PROVIDER_TIMEOUT_S="0.5",
        )
        service = ServiceProcess("verification", env, tmp_path).start()
        try:
            service.wait_ready()
            for account in accounts:
                registered = AccountRegistered(
                    registered_at=datetime.now(UTC), method=LoginMethodKind.QQ
                )
                envelope = new_envelope(registered, producer="identity", account_id=account)
                await publish(scope.infra.kafka, scope.topic("identity.events"), envelope)
            async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:

                async def all_known() -> bool:
                    for account in accounts:
                        reply = await client.get("/v1/real-name", headers=tokens.headers(account))
                        if reply.status_code != 200:
                            return False
                    return True

                await eventually(all_known, what="the accounts in verification")

                async def submit(account: str, document: str) -> httpx.Response:
                    return await client.post(
                        "/v1/real-name/personal",
                        json={"method": "face", "name": "张三", "document_number": document},
                        headers=tokens.headers(account, step_up=True),
                    )

                async def tell(account: str, outcome: str) -> None:
                    told = await client.put(
                        "/v1/dev/person-checks", json={"account_id": account, "outcome": outcome}
                    )
                    assert told.status_code == 204

                await tell(accounts[0], "fail")
                await tell(accounts[1], "timeout")
                replies = [await submit(a, number) for a in accounts]
                replies.append(
                    await submit(accounts[5], number[:-1] + ("1" if number.endswith("0") else "0"))
                )
                replies += [
                    await client.get("/v1/real-name", headers=tokens.headers(a)) for a in accounts
                ]
            statuses = [r.status_code for r in replies[:7]]
            assert statuses == [400, 504, 201, 201, 201, 409, 400], statuses

            async def published() -> int:
                records = await read_all(scope.infra.kafka, scope.topic("verification.events"))
                return len(records) >= 6 and len(records)

            await eventually(published, what="the six events of three verifications")
        finally:
            service.stop()

    log = service.log_path.read_text(errors="replace")
    assert '"event": "real_name_changed"' in log, "the run was logged"
    assert leaks(log, number) == []
    assert leaks("\n".join(r.text for r in replies), number) == []
    for topic in ("verification.events", "identity.events.dlq", "verification.events.dlq"):
        records = await read_all(scope.infra.kafka, scope.topic(topic))
        assert leaks("\n".join(repr((r.key, r.value, r.headers)) for r in records), number) == []
