"""LOGIN-1: captcha tickets are single use; Redis remembers each used ticket until it expires."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from services.identity.adapters.providers import CLOCK_LEEWAY_S


class RedisCaptchaTickets:
    """captcha:used:<ticket id>, set once (SET NX) and kept until the ticket could no longer
    verify anyway, so memory stays bounded by the tickets of the last few minutes."""

    def __init__(self, redis: Redis, key_prefix: str) -> None:
        self._redis = redis
        self._prefix = key_prefix

    async def consume(self, ticket_id: str, expires_at: int) -> bool:
        """True the first time a ticket id is presented, False ever after (until expiry)."""
        keep_s = max(1, expires_at + CLOCK_LEEWAY_S + 1 - int(time.time()))
        first = await self._redis.set(
            f"{self._prefix}captcha:used:{ticket_id}", 1, nx=True, ex=keep_s
        )
        return bool(first)
