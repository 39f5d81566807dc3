"""CAN-4, CAN-5 across services, over the real broker: an application makes identity freeze
the account (`pending_cancellation`, its sessions end) and a withdrawal unfreezes it; the
status comes back to cancellation as identity's AccountStatusChanged. Both services run in
one topic namespace; identity's own token is accepted by cancellation (offline check)."""

from __future__ import annotations

from datetime import UTC, datetime

import jwt
import pytest

from devkit.testing.facts import clear_standings
from devkit.testing.infra import Infra
from devkit.testing.waiting import eventually
from services.cancellation.adapters.repository import Accounts
from tests.integration.cancellation.conftest import CancellationApp, cancellation_app
from tests.integration.identity.conftest import identity_app, new_phone

pytestmark = pytest.mark.integration


async def status_in_cancellation(
    cancellation: CancellationApp, account: str
) -> tuple[str, tuple[str, ...]] | None:
    async with cancellation.runtime.uow() as uow:
        found = await Accounts(uow.conn).get(account)
    return None if found is None else (found.status.value, found.frozen_reasons)


async def test_can_4_can_5_identity_freezes_on_application_and_unfreezes_on_withdrawal(
    infra: Infra,
) -> None:
    scope = infra.scope()
    async with identity_app(scope) as identity, cancellation_app(scope) as cancellation:
        registered = await identity.register_email("can4@example.com", phone=new_phone())
        assert registered.status_code == 201, registered.text
        auth = await identity.token("can4@example.com")
        account = jwt.decode(
            auth["authorization"].removeprefix("Bearer "), options={"verify_signature": False}
        )["sub"]

        async def known() -> bool:
            reply = await cancellation.client.get("/v1/cancellation/preconditions", headers=auth)
            return reply.status_code == 200

        await eventually(known, what="the account in cancellation")
        await cancellation.report(account, *clear_standings(datetime.now(UTC)))

        applied = await cancellation.apply(account)
        assert applied.status_code == 201, applied.text

        async def frozen() -> bool:
            found = await status_in_cancellation(cancellation, account)
            return found == ("frozen", ("pending_cancellation",))

        await eventually(frozen, what="identity froze the account")
        ended = await identity.client.get("/v1/me/settings", headers=auth)
        assert ended.status_code == 401  # the freeze ended the session at identity

        withdrawn = await cancellation.client.delete(
            "/v1/cancellation", headers=cancellation.auth(account, False)
        )
        assert withdrawn.status_code == 200, withdrawn.text

        async def active() -> bool:
            return await status_in_cancellation(cancellation, account) == ("active", ())

        await eventually(active, what="identity unfroze the account")
        again = await identity.token("can4@example.com")
        assert (await identity.client.get("/v1/me/settings", headers=again)).status_code == 200
