"""How many real-name submissions an account made on a (China) day, counted in Redis.

One INCR per submission on a key per account and day that expires two days later: atomic
under concurrency, and across instances."""

from __future__ import annotations

from datetime import date

from redis.asyncio import Redis

TWO_DAYS_S = 2 * 86400


class RedisSubmissionCounter:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    async def count(self, account_id: str, day: date) -> int:
        """This submission's number on that day (1 for the first)."""
        key = f"{self._prefix}rn_submissions:{account_id}:{day:%Y%m%d}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, TWO_DAYS_S)
            counted, _ = await pipe.execute()
        return int(counted)
