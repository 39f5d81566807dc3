"""Sessions live in Redis (revocable at once); access tokens are signed (verifiable offline)."""

from __future__ import annotations

import secrets
from datetime import datetime

from redis.asyncio import Redis

from shared.auth import (
    Caller,
    Unauthenticated,
    private_key,
    sign_access_token,
    verify_access_token,
)


class SessionStore:
    """session:<sid> -> account id, with a sliding expiry; sessions:<account> indexes them."""

    def __init__(
        self, redis: Redis, key_prefix: str, *, signing_key_pem: str, ttl_s: int, access_ttl_s: int
    ) -> None:
        self._redis = redis
        self._prefix = key_prefix
        self._key = private_key(signing_key_pem)
        self._public = self._key.public_key()
        self._ttl_s = ttl_s
        self._access_ttl_s = access_ttl_s

    def _session(self, sid: str) -> str:
        return f"{self._prefix}session:{sid}"

    def _index(self, account_id: str) -> str:
        return f"{self._prefix}sessions:{account_id}"

    async def open(self, account_id: str, now: datetime) -> tuple[Caller, str]:
        """A new session and its first access token."""
        caller = Caller(account_id=account_id, session_id=secrets.token_urlsafe(24))
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._session(caller.session_id), account_id, ex=self._ttl_s)
            pipe.sadd(self._index(account_id), caller.session_id)
            pipe.expire(self._index(account_id), self._ttl_s)
            await pipe.execute()
        return caller, self.token(caller, now)

    def token(self, caller: Caller, now: datetime) -> str:
        return sign_access_token(self._key, caller, now=now, ttl_s=self._access_ttl_s)

    @property
    def access_ttl_s(self) -> int:
        return self._access_ttl_s

    async def authenticate(self, token: str) -> Caller:
        """A valid token whose session is still live; raises Unauthenticated."""
        caller = verify_access_token(token, self._public)
        live = await self._redis.get(self._session(caller.session_id))
        if live is None or live.decode() != caller.account_id:
            raise Unauthenticated("The session has ended: log in again.")
        await self._redis.expire(self._session(caller.session_id), self._ttl_s)
        return caller

    async def close(self, caller: Caller) -> None:
        await self._redis.delete(self._session(caller.session_id))
        await self._redis.srem(self._index(caller.account_id), caller.session_id)  # type: ignore[misc]

    async def close_all(self, account_id: str, *, keep: str | None = None) -> int:
        """End every session of the account (but `keep`); returns how many ended."""
        members = await self._redis.smembers(self._index(account_id))  # type: ignore[misc]
        sids = [s.decode() for s in members]
        ended = [s for s in sids if s != keep]
        if ended:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.delete(*[self._session(s) for s in ended])
                pipe.srem(self._index(account_id), *ended)
                await pipe.execute()
        return len(ended)
