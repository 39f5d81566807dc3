"""Password-login lockout in Redis (LOGIN-1..4): every check-and-count is one Lua script."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis

from services.identity.domain.errors import CaptchaRequired, LoginLocked

# Every script reads the clock with TIME, so all instances share Redis's clock, not their own.
_NOW_MS = """
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS: lock, day, run. ARGV: captcha_after, lock_after, window_ms, captcha_passed (0/1).
# Returns {0, number} reserved, {1, locked_until_ms} locked, {2, 0} captcha required.
# The day counter counts attempts in flight too (succeeded() gives them back), so parallel
# attempts cannot skip the captcha any more than they can skip the lock.
_BEGIN = (
    _NOW_MS
    + """
local locked = redis.call('GET', KEYS[1])
if locked then
    return {1, tonumber(locked)}
end
local n = tonumber(redis.call('HGET', KEYS[3], 'n') or '0')
if n >= tonumber(ARGV[2]) then
    return {1, tonumber(redis.call('HGET', KEYS[3], 'start')) + tonumber(ARGV[3])}
end
local today = tonumber(redis.call('GET', KEYS[2]) or '0')
if today >= tonumber(ARGV[1]) and ARGV[4] ~= '1' then
    return {2, 0}
end
if redis.call('INCR', KEYS[2]) == 1 then
    redis.call('EXPIREAT', KEYS[2], (math.floor(now_ms / 86400000) + 1) * 86400)
end
n = redis.call('HINCRBY', KEYS[3], 'n', 1)
if n == 1 then
    redis.call('HSET', KEYS[3], 'start', now_ms)
    redis.call('PEXPIREAT', KEYS[3], now_ms + tonumber(ARGV[3]))
end
return {0, n}
"""
)

# KEYS: lock, run. ARGV: window_ms. The caller holds the lock_after-th attempt: set the lock
# to end one window after the run's first failure. Returns locked_until_ms, or 0 when the run
# is already over (a parallel success ended it, or the window passed).
_LOCK = (
    _NOW_MS
    + """
local start = redis.call('HGET', KEYS[2], 'start')
if not start then
    return 0
end
local until_ms = tonumber(start) + tonumber(ARGV[1])
if until_ms <= now_ms then
    return 0
end
redis.call('SET', KEYS[1], until_ms, 'PXAT', until_ms)
return until_ms
"""
)

# KEYS: day, run. The attempt was no failure: give back its place in today's count.
_SUCCEEDED = """
local today = tonumber(redis.call('GET', KEYS[1]) or '0')
if today > 0 then
    redis.call('DECR', KEYS[1])
end
redis.call('DEL', KEYS[2])
return 1
"""


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


@dataclass(frozen=True)
class Attempt:
    """A password attempt reserved by LoginGuard.begin, before the password is checked."""

    subject: str
    number: int


class LoginGuard:
    """Counts failed password logins per subject; captcha and lock decisions are atomic.

    Redis errors (ConnectionError, TimeoutError) propagate: login fails closed.
    """

    def __init__(
        self,
        redis: Redis,
        key_prefix: str,
        *,
        captcha_after: int,
        lock_after: int,
        lock_window_s: int,
    ) -> None:
        self._redis = redis
        self._prefix = key_prefix
        self._captcha_after = captcha_after
        self._lock_after = lock_after
        self._window_ms = lock_window_s * 1000
        self._begin = redis.register_script(_BEGIN)
        self._lock = redis.register_script(_LOCK)
        self._succeeded = redis.register_script(_SUCCEEDED)

    def _keys(self, subject: str) -> tuple[str, str, str]:
        # The hash tag keeps one subject's keys in one cluster slot, as multi-key scripts need.
        base = f"{self._prefix}login:{{{subject}}}"
        return f"{base}:lock", f"{base}:day", f"{base}:run"

    async def begin(self, subject: str, *, captcha_passed: bool) -> Attempt:
        """Reserve an attempt before the password check; LoginLocked or CaptchaRequired."""
        status, value = await self._begin(
            keys=self._keys(subject),
            args=[self._captcha_after, self._lock_after, self._window_ms, int(captcha_passed)],
        )
        if status == 1:
            raise LoginLocked(_utc(int(value)))
        if status == 2:
            raise CaptchaRequired("Solve the captcha to try another password today.")
        return Attempt(subject=subject, number=int(value))

    async def failed(self, attempt: Attempt) -> datetime | None:
        """The password was wrong; the lock_after-th failure of a run returns locked_until."""
        if attempt.number != self._lock_after:
            return None
        lock_key, _, run_key = self._keys(attempt.subject)
        until_ms = int(await self._lock(keys=[lock_key, run_key], args=[self._window_ms]))
        return _utc(until_ms) if until_ms else None

    async def succeeded(self, attempt: Attempt) -> None:
        """The password was right: the failure run ends; today's earlier failures stay."""
        _, day_key, run_key = self._keys(attempt.subject)
        await self._succeeded(keys=[day_key, run_key])

    async def locked_until(self, subject: str) -> datetime | None:
        """When the subject's lock ends, or None if password login is not locked."""
        lock_key, _, _ = self._keys(subject)
        value = await self._redis.get(lock_key)
        return _utc(int(value)) if value is not None else None
