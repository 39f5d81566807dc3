"""RN-14, RN-16 across services, over the real broker: an account identity registers appears
in verification; a person verified there is what identity then shows (it acts on the
RealNameChanged verification published). Both services run in one topic namespace."""

from __future__ import annotations

import jwt
import pytest

from devkit.testing.infra import Infra
from devkit.testing.people import random_resident_id
from devkit.testing.waiting import eventually
from tests.integration.identity.conftest import identity_app, new_phone
from tests.integration.verification.conftest import verification_app

pytestmark = pytest.mark.integration


async def test_rn_14_rn_16_identity_shows_the_real_name_verification_publishes(
    infra: Infra,
) -> None:
    scope = infra.scope()
    async with identity_app(scope) as identity, verification_app(scope) as verification:
        registered = await identity.register_email("rn14@example.com", phone=new_phone())
        assert registered.status_code == 201, registered.text
        auth = await identity.token("rn14@example.com")
        account = jwt.decode(
            auth["authorization"].removeprefix("Bearer "), options={"verify_signature": False}
        )["sub"]
        await eventually(lambda: verification.known(account), what="the account in verification")

        reply = await verification.verify_person(account, random_resident_id())
        assert reply.status_code == 201, reply.text

        async def shown() -> bool:
            settings = await identity.client.get("/v1/me/settings", headers=auth)
            return bool(settings.json()["real_name_status"] == "verified")

        await eventually(shown, what="identity's real_name_status")
