"""The quota store (RN-3, RN-7) on the real PostgreSQL: places reserved with a lease while a
check runs, held once verified, released on failure; a lapsed lease no longer counts; one
live place per account and kind; a per-key override of the limit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from services.verification.adapters.quota import (
    AccountAlreadyClaims,
    QuotaClaims,
    QuotaFull,
    QuotaKind,
)
from services.verification.adapters.tables import quota_keys
from tests.integration.verification.conftest import VerificationApp, new_account_id

pytestmark = pytest.mark.integration

T0 = datetime(2026, 5, 1, tzinfo=UTC)
LEASE = timedelta(seconds=60)


async def reserve(
    verification: VerificationApp, key: str, account: str, *, at: datetime, limit: int = 3
) -> int:
    async with verification.ctx.runtime.uow() as uow:
        return await QuotaClaims(uow.conn).reserve(
            QuotaKind.PERSON, key, account, limit=limit, now=at, lease_until=at + LEASE
        )


async def test_rn_3_a_reservation_whose_lease_lapsed_no_longer_counts(
    verification: VerificationApp,
) -> None:
    """A process that died mid-check does not keep the place for ever."""
    key = uuid.uuid4().hex
    for _ in range(3):
        await reserve(verification, key, new_account_id(), at=T0)

    with pytest.raises(QuotaFull):
        await reserve(verification, key, new_account_id(), at=T0 + LEASE - timedelta(seconds=1))
    late = await reserve(verification, key, new_account_id(), at=T0 + LEASE)

    assert late > 0


async def test_rn_3_held_places_count_for_good_and_released_ones_do_not(
    verification: VerificationApp,
) -> None:
    key = uuid.uuid4().hex
    first = await reserve(verification, key, new_account_id(), at=T0)
    second = await reserve(verification, key, new_account_id(), at=T0)
    async with verification.ctx.runtime.uow() as uow:
        claims = QuotaClaims(uow.conn)
        assert await claims.hold(first, now=T0)
        await claims.release(second, now=T0)

    later = T0 + 10 * LEASE
    await reserve(verification, key, new_account_id(), at=later)
    await reserve(verification, key, new_account_id(), at=later)
    with pytest.raises(QuotaFull):
        await reserve(verification, key, new_account_id(), at=later)


async def test_rn_3_a_lapsed_reservation_cannot_be_held_once_its_place_was_taken(
    verification: VerificationApp,
) -> None:
    key = uuid.uuid4().hex
    slow = await reserve(verification, key, new_account_id(), at=T0, limit=1)
    await reserve(verification, key, new_account_id(), at=T0 + LEASE, limit=1)

    async with verification.ctx.runtime.uow() as uow:
        held = await QuotaClaims(uow.conn).hold(slow, now=T0 + LEASE)

    assert held is False


async def test_one_live_place_per_account_and_kind(verification: VerificationApp) -> None:
    account = new_account_id()
    await reserve(verification, uuid.uuid4().hex, account, at=T0)

    with pytest.raises(AccountAlreadyClaims):
        await reserve(verification, uuid.uuid4().hex, account, at=T0)
    async with verification.ctx.runtime.uow() as uow:
        await QuotaClaims(uow.conn).reserve(
            QuotaKind.ENTERPRISE,
            uuid.uuid4().hex,
            account,
            limit=10,
            now=T0,
            lease_until=T0 + LEASE,
        )


async def test_rn_7_a_key_s_override_replaces_the_default_limit(
    verification: VerificationApp,
) -> None:
    key = uuid.uuid4().hex
    await reserve(verification, key, new_account_id(), at=T0, limit=1)
    async with verification.ctx.runtime.uow() as uow:
        await uow.conn.execute(
            sa.update(quota_keys).where(quota_keys.c.key_hash == key).values(limit_override=2)
        )

    await reserve(verification, key, new_account_id(), at=T0, limit=1)
    with pytest.raises(QuotaFull) as full:
        await reserve(verification, key, new_account_id(), at=T0, limit=1)
    assert full.value.limit == 2
