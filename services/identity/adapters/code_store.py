"""One-time codes and their send budgets in Redis (CODE-1..3): only HMACs are stored, tries
are counted first, every limit is one Lua script."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence

from redis.asyncio import Redis

from services.identity.domain.codes import Budget, CodePurpose, purpose_class
from services.identity.domain.errors import (
    CodeExpired,
    CodeInvalid,
    CodeRateLimited,
    CodeTooManyTries,
    CodeTriesExhausted,
)

_WELL_FORMED = re.compile(r"[0-9]{6}")

# Sets the UTC-day expiry of a counter just created by INCR.
_END_OF_DAY = """
local function expire_at_midnight(key)
    local now_s = tonumber(redis.call('TIME')[1])
    redis.call('EXPIREAT', key, (math.floor(now_s / 86400) + 1) * 86400)
end
"""

# KEYS: minute, day, tries today, code. ARGV: per_minute, per_day, max_tries_per_day, hmac,
# issue id, ttl_s. Returns {0, 0} stored, {1, retry_after_ms} rate-limited, or
# {2, retry_after_ms} when the destination has no tries left today (a code could not be used).
# The minute window opens at the first send (so per_minute=1 means one per 60 s, not two
# across a minute boundary); the day window is the UTC day.
_ISSUE = (
    _END_OF_DAY
    + """
local today = tonumber(redis.call('GET', KEYS[2]) or '0')
if today >= tonumber(ARGV[2]) then
    return {1, redis.call('PTTL', KEYS[2])}
end
local minute = tonumber(redis.call('GET', KEYS[1]) or '0')
if minute >= tonumber(ARGV[1]) then
    return {1, redis.call('PTTL', KEYS[1])}
end
if tonumber(redis.call('GET', KEYS[3]) or '0') >= tonumber(ARGV[3]) then
    return {2, redis.call('PTTL', KEYS[3])}
end
if redis.call('INCR', KEYS[1]) == 1 then
    redis.call('EXPIRE', KEYS[1], 60)
end
if redis.call('INCR', KEYS[2]) == 1 then
    expire_at_midnight(KEYS[2])
end
redis.call('DEL', KEYS[4])
redis.call('HSET', KEYS[4], 'hmac', ARGV[4], 'id', ARGV[5], 'tries', 0)
redis.call('EXPIRE', KEYS[4], tonumber(ARGV[6]))
return {0, 0}
"""
)

# KEYS: code, tries today. ARGV: max_tries, max_tries_per_day. Counts the try, against the
# code and against the destination's day, before anyone compares anything. Returns {0} no
# code, {-1} the code is void (its tries are spent: it stays void, saying so, until it
# expires), {-2, retry_after_ms} no tries left today, or {tries, hmac, issue id}.
_TRY = (
    _END_OF_DAY
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then
    return {0}
end
if tonumber(redis.call('HGET', KEYS[1], 'tries')) >= tonumber(ARGV[1]) then
    return {-1}
end
if tonumber(redis.call('GET', KEYS[2]) or '0') >= tonumber(ARGV[2]) then
    return {-2, redis.call('PTTL', KEYS[2])}
end
if redis.call('INCR', KEYS[2]) == 1 then
    expire_at_midnight(KEYS[2])
end
local tries = redis.call('HINCRBY', KEYS[1], 'tries', 1)
local stored = redis.call('HMGET', KEYS[1], 'hmac', 'id')
return {tries, stored[1], stored[2]}
"""
)

# KEYS: code, tries today. ARGV: issue id. Single use: only the request that deletes the code
# consumes it; comparing the issue id (not only the HMAC) spares a newer code that happens to
# be equal. A right code gives its try back: the day's budget caps wrong tries.
_CONSUME = """
if redis.call('HGET', KEYS[1], 'id') == ARGV[1] then
    if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then
        redis.call('DECR', KEYS[2])
    end
    return redis.call('DEL', KEYS[1])
end
return 0
"""

# KEYS: one counter per budget. ARGV: the limits, then the windows (s). All or nothing: a send
# spends every budget or none. Returns {0, 0}, or {index (1-based), retry_after_ms} of the
# first budget that is spent.
_SPEND = """
local n = #KEYS
for i = 1, n do
    if tonumber(redis.call('GET', KEYS[i]) or '0') >= tonumber(ARGV[i]) then
        return {i, redis.call('PTTL', KEYS[i])}
    end
end
for i = 1, n do
    if redis.call('INCR', KEYS[i]) == 1 then
        redis.call('EXPIRE', KEYS[i], tonumber(ARGV[n + i]))
    end
end
return {0, 0}
"""

# KEYS: the counters of budgets spent by a send that did not happen after all.
_REFUND = """
for i = 1, #KEYS do
    if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then
        redis.call('DECR', KEYS[i])
    end
end
return 1
"""


def _retry_after_s(ms: int | bytes | str) -> int:
    return max(1, -(-int(ms) // 1000))


def _text(value: bytes | str) -> str:
    # The client may or may not have been made with decode_responses=True.
    return value.decode() if isinstance(value, bytes) else value


class RedisCodeStore:
    """Issues and verifies 6-digit one-time codes per purpose and destination, and keeps the
    send budgets (CODE-2). Budgets and try caps of a destination are per purpose class.

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
        max_tries_per_day: int = 10,
    ) -> None:
        self._prefix = key_prefix
        self._redis = redis
        self._hmac_key = hmac_key.encode()
        self._ttl_s = ttl_s
        self._max_tries = max_tries
        self._max_tries_per_day = max_tries_per_day
        self._per_minute = per_minute
        self._per_day = per_day
        self._issue = redis.register_script(_ISSUE)
        self._try = redis.register_script(_TRY)
        self._consume = redis.register_script(_CONSUME)
        self._spend = redis.register_script(_SPEND)
        self._refund = redis.register_script(_REFUND)

    def _mac(self, message: str) -> str:
        return hmac.new(self._hmac_key, message.encode(), hashlib.sha256).hexdigest()

    def _keys(self, purpose: str, destination: str) -> tuple[str, str, str, str]:
        """minute, day, tries today (of the purpose's class) and the code itself."""
        # Keyed, so a key name cannot be matched to a phone number by hashing every number.
        # The hash tag keeps one destination's keys in one cluster slot.
        dest = self._mac(f"destination:{destination}")
        base = f"{self._prefix}code:{{{dest}}}"
        kind = purpose_class(CodePurpose(purpose)).value
        return (
            f"{base}:{kind}:per-minute",
            f"{base}:{kind}:per-day",
            f"{base}:{kind}:tries-today",
            f"{base}:{purpose}",
        )

    def _budget_key(self, budget: Budget) -> str:
        # One hash tag for all shared budgets: a send spends them in one script.
        subject = self._mac(f"budget:{budget.scope}:{budget.window_s}:{budget.subject}")
        return f"{self._prefix}code-budget:{{shared}}:{budget.scope}:{subject}"

    async def spend(self, budgets: Sequence[Budget]) -> None:
        """Spend one send of every budget, or none; CodeRateLimited names the spent one."""
        if not budgets:
            return
        index, retry_after_ms = await self._spend(
            keys=[self._budget_key(b) for b in budgets],
            args=[*(b.limit for b in budgets), *(b.window_s for b in budgets)],
        )
        if int(index):
            scope = budgets[int(index) - 1].scope
            raise CodeRateLimited(_retry_after_s(retry_after_ms), scope=scope)

    async def refund(self, budgets: Sequence[Budget]) -> None:
        """Give back what spend() took for a send that did not happen."""
        if budgets:
            await self._refund(keys=[self._budget_key(b) for b in budgets])

    async def issue(self, purpose: str, destination: str) -> str:
        """A new code for purpose and destination, replacing the last; CodeRateLimited
        (scope `destination`) or CodeTriesExhausted."""
        code = f"{secrets.randbelow(1_000_000):06d}"
        status, retry_after_ms = await self._issue(
            keys=self._keys(purpose, destination),
            args=[
                self._per_minute,
                self._per_day,
                self._max_tries_per_day,
                self._mac(f"{purpose}:{destination}:{code}"),
                secrets.token_hex(8),
                self._ttl_s,
            ],
        )
        if status == 1:
            raise CodeRateLimited(_retry_after_s(retry_after_ms), scope="destination")
        if status == 2:
            raise CodeTriesExhausted(_retry_after_s(retry_after_ms))
        return code

    async def forget(self, destination: str) -> int:
        """Delete the destination's live codes of every purpose (CAN-7: its owner's account
        was erased); its send counters stay and expire by themselves. Returns how many."""
        keys = [self._keys(purpose.value, destination)[3] for purpose in CodePurpose]
        return int(await self._redis.delete(*keys))

    async def verify(self, purpose: str, destination: str, code: str) -> None:
        """Consume the code if it is right; CodeExpired, CodeInvalid, CodeTooManyTries or
        CodeTriesExhausted."""
        _, _, tries_key, code_key = self._keys(purpose, destination)
        # Junk counts as a try like a wrong code, so a brute force with junk is bounded too.
        reply = await self._try(
            keys=[code_key, tries_key], args=[self._max_tries, self._max_tries_per_day]
        )
        tries = int(reply[0])
        if tries == 0:
            raise CodeExpired("No valid code: request a new one.")
        if tries == -1:
            raise CodeTooManyTries(
                f"This code was wrong {self._max_tries} times and is void: request a new code."
            )
        if tries == -2:
            raise CodeTriesExhausted(_retry_after_s(reply[1]))
        given = self._mac(f"{purpose}:{destination}:{code}")
        right = _WELL_FORMED.fullmatch(code) is not None and hmac.compare_digest(
            given, _text(reply[1])
        )
        if not right:
            left = self._max_tries - tries
            raise CodeInvalid(
                "The code is not right."
                if left
                else "The code is not right; it is now void: request a new code.",
                details={"tries_left": left},
            )
        if not await self._consume(keys=[code_key, tries_key], args=[_text(reply[2])]):
            # A parallel request consumed it first, or a new code replaced it.
            raise CodeExpired("No valid code: request a new one.")
