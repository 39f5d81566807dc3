"""RN-12 over the real broker, PostgreSQL and Redis: CAM's SubAccountCreated makes the new
account inherit its root's real name (now, or when the root verifies, or when its own
registration arrives later), SubAccountAssociated makes an existing account verify itself,
and only CAM's word counts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from devkit.testing.facts import publish_fact
from devkit.testing.people import random_resident_id
from devkit.testing.waiting import eventually
from shared.events import SubAccountAssociated, SubAccountCreated
from tests.integration.verification.conftest import VerificationApp, new_account_id

pytestmark = pytest.mark.integration


async def real_name(verification: VerificationApp, account: str) -> dict[str, Any]:
    reply = await verification.client.get("/v1/real-name", headers=verification.auth(account))
    body: dict[str, Any] = reply.json()
    return body


async def created(
    verification: VerificationApp, sub: str, root: str, *, producer: str | None = None
) -> None:
    await publish_fact(
        verification.scope,
        SubAccountCreated(root_account_id=root, created_at=datetime.now(UTC)),
        sub,
        producer=producer,
    )


async def becomes_verified(verification: VerificationApp, account: str) -> dict[str, Any]:
    async def verified() -> dict[str, Any] | None:
        view = await real_name(verification, account)
        return view if view.get("status") == "verified" else None

    return await eventually(verified, what=f"{account} verified")


async def test_rn_12_a_sub_account_created_by_a_verified_root_inherits_its_real_name(
    verification: VerificationApp,
) -> None:
    root = await verification.register()
    assert (await verification.verify_person(root, random_resident_id())).status_code == 201
    sub = await verification.register()

    await created(verification, sub, root)
    view = await becomes_verified(verification, sub)

    assert view["subject"] == "personal" and view["method"] == "wechat_scan"
    assert view["history"][0]["reason"] == "inherited"
    assert view["history"][0]["details"] == {"root_account_id": root}
    events = await verification.events_of(sub, 2)
    assert [e.type for e in events] == ["RealNameChanged", "RealNameVerified"]


async def test_rn_12_a_sub_account_created_before_its_root_verifies_inherits_when_it_does(
    verification: VerificationApp,
) -> None:
    root = await verification.register()
    sub = await verification.register()
    await created(verification, sub, root)
    await verification.settled("cam.events")
    assert (await real_name(verification, sub))["status"] == "unverified"

    assert (await verification.verify_person(root, random_resident_id())).status_code == 201

    view = await real_name(verification, sub)  # in the root's own transaction
    assert view["status"] == "verified" and view["subject"] == "personal"


async def test_rn_12_a_sub_account_reported_before_its_registration_inherits_on_registration(
    verification: VerificationApp,
) -> None:
    root = await verification.register()
    assert (await verification.verify_person(root, random_resident_id())).status_code == 201
    sub = new_account_id()
    await created(verification, sub, root)
    await verification.settled("cam.events")

    await verification.register(sub)

    await becomes_verified(verification, sub)


async def test_rn_12_an_existing_account_associated_as_a_sub_account_verifies_itself(
    verification: VerificationApp,
) -> None:
    root = await verification.register()
    assert (await verification.verify_person(root, random_resident_id())).status_code == 201
    existing = await verification.register()

    await publish_fact(
        verification.scope,
        SubAccountAssociated(root_account_id=root, associated_at=datetime.now(UTC)),
        existing,
    )
    await verification.settled("cam.events")

    assert (await real_name(verification, existing))["status"] == "unverified"
    own = await verification.verify_person(existing, random_resident_id())
    assert own.status_code == 201, own.text


async def test_rn_12_a_sub_account_fact_from_another_producer_is_not_cams_word(
    verification: VerificationApp,
) -> None:
    root = await verification.register()
    assert (await verification.verify_person(root, random_resident_id())).status_code == 201
    sub = await verification.register()

    await created(verification, sub, root, producer="billing")
    await verification.settled("cam.events")

    assert (await real_name(verification, sub))["status"] == "unverified"
