"""One-time codes in Redis (CODE-1..3): only HMACs are stored, tries are counted first."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from redis.asyncio import Redis

from services.identity.domain.errors import (
    CodeExpired,
    CodeInvalid,
    CodeRateLimited,
    CodeTooManyTries,
)

_WELL_FORMED = re.compile(r"[0-9]{6}")

# KEYS: minute, day, code. ARGV: per_minute, per_day, hmac, issue id, ttl_s.
# Returns {0, 0} stored, or {1, retry_after_ms}. The minute window opens at the first send
# (so per_minute=1 means one per 60 s, not two across a minute boundary); the day window is
# the UTC day.
_ISSUE = """
local t = redis.call('TIME')
local now_s = tonumber(t[1])
local today = tonumber(redis.call('GET', KEYS[2]) or '0')
if today >= tonumber(ARGV[2]) then
    return {1, redis.call('PTTL', KEYS[2])}
end
local minute = tonumber(redis.call('GET', KEYS[1]) or '0')
if minute >= tonumber(ARGV[1]) then
    return {1, redis.call('PTTL', KEYS[1])}
end
if redis.call('INCR', KEYS[1]) == 1 then
    redis.call('EXPIRE', KEYS[1], 60)
end
if redis.call('INCR', KEYS[2]) == 1 then
    redis.call('EXPIREAT', KEYS[2], (math.floor(now_s / 86400) + 1) * 86400)
end
redis.call('DEL', KEYS[3])
redis.call('HSET', KEYS[3], 'hmac', ARGV[3], 'id', ARGV[4], 'tries', 0)
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[5]))
return {0, 0}
"""

# KEYS: code. ARGV: max_tries. Counts the try before anyone compares anything.
# Returns {0} no code, {-1} too many tries (code deleted), or {tries, hmac, issue id}.
_TRY = """
if redis.call('EXISTS', KEYS[1]) == 0 then
    return {0}
end
local tries = redis.call('HINCRBY', KEYS[1], 'tries', 1)
if tries > tonumber(ARGV[1]) then
    redis.call('DEL', KEYS[1])
    return {-1}
end
local stored = redis.call('HMGET', KEYS[1], 'hmac', 'id')
return {tries, stored[1], stored[2]}
"""

# KEYS: code. ARGV: issue id. Single use: only the request that deletes the code consumes it;
# comparing the issue id (not only the HMAC) spares a newer code that happens to be equal.
_CONSUME = """
if redis.call('HGET', KEYS[1], 'id') == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


def _text(value: bytes | str) -> str:
    # The client may or may not have been made with decode_responses=True.
    return value.decode() if isinstance(value, bytes) else value


class CodeStore:
    """Issues and verifies 6-digit one-time codes per purpose and destination.

    Redis errors (ConnectionError, TimeoutError) propagate to the caller.
    """

    def __init__(
        self,
        redis: Redis,
        key_prefix: str,
        *,
        hmac_key: str,
        ttl_s: int,
        max_tries: int,
        per_minute: int,
        per_day: int,
    ) -> None:
        self._prefix = key_prefix
        self._hmac_key = hmac_key.encode()
        self._ttl_s = ttl_s
        self._max_tries = max_tries
        self._per_minute = per_minute
        self._per_day = per_day
        self._issue = redis.register_script(_ISSUE)
        self._try = redis.register_script(_TRY)
        self._consume = redis.register_script(_CONSUME)

    def _mac(self, message: str) -> str:
        return hmac.new(self._hmac_key, message.encode(), hashlib.sha256).hexdigest()

    def _keys(self, purpose: str, destination: str) -> tuple[str, str, str]:
        # Keyed, so a key name cannot be matched to a phone number by hashing every number.
        # The hash tag keeps one destination's keys in one cluster slot.
        dest = self._mac(f"destination:{destination}")
        base = f"{self._prefix}code:{{{dest}}}"
        return f"{base}:per-minute", f"{base}:per-day", f"{base}:{purpose}"

    async def issue(self, purpose: str, destination: str) -> str:
        """A new code for purpose and destination, replacing the last; CodeRateLimited."""
        code = f"{secrets.randbelow(1_000_000):06d}"
        status, retry_after_ms = await self._issue(
            keys=self._keys(purpose, destination),
            args=[
                self._per_minute,
                self._per_day,
                self._mac(f"{purpose}:{destination}:{code}"),
                secrets.token_hex(8),
                self._ttl_s,
            ],
        )
        if status == 1:
            raise CodeRateLimited(max(1, -(-int(retry_after_ms) // 1000)))
        return code

    async def verify(self, purpose: str, destination: str, code: str) -> None:
        """Consume the code if it is right; CodeExpired, CodeInvalid or CodeTooManyTries."""
        code_key = self._keys(purpose, destination)[2]
        # Junk counts as a try like a wrong code, so a brute force with junk is bounded too.
        reply = await self._try(keys=[code_key], args=[self._max_tries])
        tries = int(reply[0])
        if tries == 0:
            raise CodeExpired("No valid code: request a new one.")
        if tries < 0:
            raise CodeTooManyTries("Too many wrong tries: request a new code.")
        given = self._mac(f"{purpose}:{destination}:{code}")
        right = _WELL_FORMED.fullmatch(code) is not None and hmac.compare_digest(
            given, _text(reply[1])
        )
        if not right:
            raise CodeInvalid(
                "The code is not right.", details={"tries_left": self._max_tries - tries}
            )
        if not await self._consume(keys=[code_key], args=[_text(reply[2])]):
            # A parallel request consumed it first, or a new code replaced it.
            raise CodeExpired("No valid code: request a new one.")
