"""MFA-3 against the real Redis: a TOTP step is claimed once per account, atomically."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from uuid import uuid4

import pytest
from redis.asyncio import Redis

from devkit.testing.infra import Infra
from services.identity.adapters.totp_window import KEEP_S, RedisTotpWindow

pytestmark = pytest.mark.integration


@pytest.fixture
async def window(infra: Infra) -> AsyncIterator[tuple[RedisTotpWindow, Redis, str]]:
    client = Redis.from_url(infra.redis_url)
    prefix = f"{infra.scope().prefix}{uuid4().hex[:6]}:"
    yield RedisTotpWindow(client, prefix), client, prefix
    async for key in client.scan_iter(match=prefix + "*"):
        await client.delete(key)
    await client.aclose()


async def test_mfa_3_twenty_parallel_claims_of_one_step_give_exactly_one_success(
    window: tuple[RedisTotpWindow, Redis, str],
) -> None:
    totp, _, _ = window
    results = await asyncio.gather(*(totp.claim(42, 56_666_667) for _ in range(20)))

    assert sorted(results) == [False] * 19 + [True]


async def test_mfa_3_a_step_at_or_below_the_last_used_one_is_a_replay(
    window: tuple[RedisTotpWindow, Redis, str],
) -> None:
    totp, _, _ = window
    assert await totp.claim(1, 100)
    assert not await totp.claim(1, 100)
    assert not await totp.claim(1, 99)  # an older code, even unused, once a newer one was used
    assert await totp.claim(1, 101)
    assert await totp.claim(2, 100)  # accounts are apart


async def test_mfa_3_the_last_used_step_expires_after_the_window_and_unbinding_forgets_it(
    window: tuple[RedisTotpWindow, Redis, str],
) -> None:
    totp, client, prefix = window
    assert await totp.claim(3, 500)

    ttl = await client.ttl(f"{prefix}totp:{{3}}:last-step")
    assert 0 < ttl <= KEEP_S
    await totp.forget(3)
    assert await totp.claim(3, 500)
