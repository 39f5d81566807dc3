"""RN-13 over the real broker, PostgreSQL and Redis: verified enterprises are re-checked
against the (fake) registry by timers; a deregistered entity or a name mismatch first gets
a notice (RealNameRecheckFailed), then after the grace period turns the account unverified
(RealNameChanged with the reason, the enterprise's quota place freed), unless the registry
agrees again in the meantime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa

from devkit.testing.infra import Infra
from devkit.testing.waiting import eventually
from services.verification.adapters.tables import enterprise_rechecks
from shared.events import Envelope
from tests.integration.verification.conftest import VerificationApp, verification_app
from tests.integration.verification.test_enterprise import registered_enterprise, submit

pytestmark = pytest.mark.integration

FAST: dict[str, Any] = {
    "recheck_interval_s": 0.0,
    "recheck_sweep_interval_s": 0.3,
    "timer_poll_interval_s": 0.2,
}


@pytest.fixture
async def rechecking(
    infra: Infra, request: pytest.FixtureRequest
) -> AsyncIterator[VerificationApp]:
    grace: float = request.param
    async with verification_app(infra.scope(), recheck_grace_s=grace, **FAST) as app:
        yield app


async def verified_enterprise(app: VerificationApp, name: str) -> tuple[str, str]:
    account = await app.register()
    uscc, _ = await registered_enterprise(app, name)
    assert (await submit(app, account, uscc, name, "wechat_official_platform")).status_code == 201
    return account, uscc


async def registry(app: VerificationApp, uscc: str, name: str, *, deregistered: bool) -> None:
    reply = await app.client.put(
        "/v1/dev/registry", json={"uscc": uscc, "name": name, "deregistered": deregistered}
    )
    assert reply.status_code == 204, reply.text


async def notice(app: VerificationApp, account: str) -> Envelope[Any]:
    async def found() -> Envelope[Any] | None:
        return next(
            (e for e in await app.events(account) if e.type == "RealNameRecheckFailed"), None
        )

    return await eventually(found, what=f"re-check notice of {account}", timeout_s=30)


async def status_of(app: VerificationApp, account: str) -> dict[str, Any]:
    reply = await app.client.get("/v1/real-name", headers=app.auth(account))
    body: dict[str, Any] = reply.json()
    return body


@pytest.mark.parametrize("rechecking", [2.0], indirect=True)
async def test_rn_13_a_deregistered_enterprise_is_noticed_then_turned_unverified(
    rechecking: VerificationApp,
) -> None:
    name = "北京注销示例有限公司"
    account, uscc = await verified_enterprise(rechecking, name)
    fine, _ = await verified_enterprise(rechecking, "北京仍在示例有限公司")

    await registry(rechecking, uscc, name, deregistered=True)
    noticed = await notice(rechecking, account)
    announced = await status_of(rechecking, account)
    assert announced["status"] == "verified", "notice first"
    assert announced["recheck_notice"]["reason"] == "entity_deregistered"

    async def downgraded() -> dict[str, Any] | None:
        body = await status_of(rechecking, account)
        return body if body["status"] == "unverified" else None

    body = await eventually(downgraded, what="downgrade after the grace period", timeout_s=30)
    assert noticed.payload.reason == "entity_deregistered"
    assert body["history"][0]["reason"] == "entity_deregistered"
    events = await rechecking.events(account)
    kinds = [e.type for e in events]
    assert kinds.index("RealNameRecheckFailed") < len(kinds) - 1
    assert events[-1].type == "RealNameChanged"
    assert events[-1].payload.status.value == "unverified"
    assert events[-1].payload.reason == "entity_deregistered"
    assert (await status_of(rechecking, fine))["status"] == "verified"
    assert not [e for e in await rechecking.events(fine) if e.type == "RealNameRecheckFailed"]


@pytest.mark.parametrize("rechecking", [4.0], indirect=True)
async def test_rn_13_a_mismatch_corrected_within_the_grace_period_keeps_the_real_name(
    rechecking: VerificationApp,
) -> None:
    name = "上海改名示例有限公司"
    account, uscc = await verified_enterprise(rechecking, name)

    await registry(rechecking, uscc, "上海别的名字有限公司", deregistered=False)
    noticed = await notice(rechecking, account)
    await registry(rechecking, uscc, name, deregistered=False)

    async def cleared() -> bool:
        async with rechecking.ctx.runtime.uow() as uow:
            noticed_at = (
                await uow.conn.execute(
                    sa.select(enterprise_rechecks.c.noticed_at).where(
                        enterprise_rechecks.c.account_id == account
                    )
                )
            ).scalar_one_or_none()
        return noticed_at is None

    await eventually(cleared, what="the notice lifted at the end of the grace", timeout_s=30)
    assert noticed.payload.reason == "registry_mismatch"
    assert (await status_of(rechecking, account))["status"] == "verified"
