"""Password-login lockout in Redis (LOGIN-1..4): every check-and-count is one Lua script.

Per subject (the keyed hash of a login email, or of an account without one):
- `lock`: the end of the current lock (LOGIN-2/3);
- `day`: today's attempts, for the captcha (LOGIN-1);
- `run`: the failures of the current run and when it started (LOGIN-2);
- `streak`: consecutive failures of passwords and codes, never expiring, ended only by a
  success, a password reset or an operator; at `budget` the subject is locked until one of
  those (NIST SP 800-63B 5.2.2: at most 100 consecutive failures);
- `since`: when the streak began, which names it (a spent budget is recorded with it);
- `refused`: attempts refused while locked, so they are summarised instead of recorded one
  by one.
Per client IP (another key, another cluster slot): failures in a fixed window, checked before
any argon2 work.
"""

from __future__ import annotations

from datetime import UTC, datetime

from redis.asyncio import Redis

from services.identity.domain.errors import (
    CaptchaRequired,
    LoginLocked,
    LoginLockedUntilReset,
    LoginThrottled,
)
from services.identity.domain.lockout import Attempt, after_last_summary

# Every script reads the clock with TIME, so all instances share Redis's clock, not their own.
_NOW_MS = """
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# Refusals while locked are counted in `refused`, kept a week past the lock so the count
# left after the last summary row can be recorded by the next attempt.
_REFUSE = """
local function refuse(key, until_ms)
    local n = redis.call('HINCRBY', key, 'n', 1)
    redis.call('PEXPIREAT', key, until_ms + 604800000)
    return n
end
"""

# A streak's first failure names it; a streak older than its name (kept from before names
# were kept) is named at its next failure.
_SINCE = """
local function begin_streak(key, streak, now_ms)
    if streak == 1 or redis.call('EXISTS', key) == 0 then
        redis.call('SET', key, now_ms)
    end
    return tonumber(redis.call('GET', key))
end
"""

# KEYS: lock, day, run, streak, refused, since. ARGV: captcha_after, lock_after, window_ms,
# captcha_passed (0/1), budget.
# Returns {0, number, run_start_ms, refusals_before, streak, since_ms} reserved,
# {1, locked_until_ms, refusals} locked, {2} captcha required, {3, 0, refusals} budget spent.
# The day counter counts attempts in flight too (succeeded() gives them back), so parallel
# attempts cannot skip the captcha any more than they can skip the lock.
_BEGIN = (
    _NOW_MS
    + _REFUSE
    + _SINCE
    + """
local locked = redis.call('GET', KEYS[1])
if locked then
    return {1, tonumber(locked), refuse(KEYS[5], tonumber(locked))}
end
if tonumber(redis.call('GET', KEYS[4]) or '0') >= tonumber(ARGV[5]) then
    return {3, 0, refuse(KEYS[5], now_ms)}
end
local n = tonumber(redis.call('HGET', KEYS[3], 'n') or '0')
if n >= tonumber(ARGV[2]) then
    -- The attempt that completes the run is still being checked and recorded.
    local until_ms = tonumber(redis.call('HGET', KEYS[3], 'start')) + tonumber(ARGV[3])
    return {1, until_ms, refuse(KEYS[5], until_ms)}
end
local today = tonumber(redis.call('GET', KEYS[2]) or '0')
if today >= tonumber(ARGV[1]) and ARGV[4] ~= '1' then
    return {2}
end
local before = tonumber(redis.call('HGET', KEYS[5], 'n') or '0')
redis.call('DEL', KEYS[5])
if redis.call('INCR', KEYS[2]) == 1 then
    redis.call('EXPIREAT', KEYS[2], (math.floor(now_ms / 86400000) + 1) * 86400)
end
local streak = redis.call('INCR', KEYS[4])
local since = begin_streak(KEYS[6], streak, now_ms)
n = redis.call('HINCRBY', KEYS[3], 'n', 1)
if n == 1 then
    redis.call('HSET', KEYS[3], 'start', now_ms)
    redis.call('PEXPIREAT', KEYS[3], now_ms + tonumber(ARGV[3]))
end
return {0, n, tonumber(redis.call('HGET', KEYS[3], 'start')), before, streak, since}
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

# KEYS: lock, streak. ARGV: until_ms (0: none), budget (0: not spent). A lock PostgreSQL
# recorded and Redis lost: set it again.
_RELOCK = (
    _NOW_MS
    + """
if tonumber(ARGV[1]) > now_ms then
    redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[1])
end
if tonumber(ARGV[2]) > 0 then
    redis.call('SET', KEYS[2], ARGV[2])
end
return 1
"""
)

# KEYS: day, run, streak, since. The attempt was no failure: give back its place in today's
# count; the run and the streak of consecutive failures end.
_SUCCEEDED = """
local today = tonumber(redis.call('GET', KEYS[1]) or '0')
if today > 0 then
    redis.call('DECR', KEYS[1])
end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
return 1
"""

# KEYS: day, run, streak. ARGV: number. The attempt could not be recorded: it is not
# counted either. Its run number is given back only when no later attempt holds one, so two
# attempts never hold the same number (only the lock_after-th sets the lock).
_RELEASE = """
local today = tonumber(redis.call('GET', KEYS[1]) or '0')
if today > 0 then
    redis.call('DECR', KEYS[1])
end
if tonumber(redis.call('HGET', KEYS[2], 'n') or '0') == tonumber(ARGV[1]) then
    if redis.call('HINCRBY', KEYS[2], 'n', -1) <= 0 then
        redis.call('DEL', KEYS[2])
    end
end
local streak = tonumber(redis.call('GET', KEYS[3]) or '0')
if streak > 0 then
    redis.call('DECR', KEYS[3])
end
return 1
"""

# KEYS: streak, since. ARGV: budget, refuse_when_spent (0/1). A code check on the subject's
# account: reserve one failure in the streak first (the streak is shared by passwords and
# codes). Returns {streak, since_ms} with this check in it, or {0, 0} when spent (and refused).
_SPEND = (
    _NOW_MS
    + _SINCE
    + """
local streak = tonumber(redis.call('GET', KEYS[1]) or '0')
if ARGV[2] == '1' and streak >= tonumber(ARGV[1]) then
    return {0, 0}
end
streak = redis.call('INCR', KEYS[1])
return {streak, begin_streak(KEYS[2], streak, now_ms)}
"""
)

# KEYS: lock, day, run, streak, since. Lifted: by a password reset or an operator. The
# refusals of the lifted lock stay, for the next attempt to record.
_UNLOCK = """
return redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
"""

# KEYS: ip. ARGV: limit, window_ms. Returns {0, n} reserved or {1, retry_after_ms}.
_IP = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then
    return {1, redis.call('PTTL', KEYS[1])}
end
if redis.call('INCR', KEYS[1]) == 1 then
    redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
end
return {0, n + 1}
"""

# KEYS: ip. The attempt was no failure (or never checked a password): give its place back.
_IP_GIVE_BACK = """
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then
    redis.call('DECR', KEYS[1])
end
return 1
"""


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


class RedisLoginGuard:
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
        failure_budget: int = 100,
        ip_failures: int = 1_000_000,
        ip_window_s: int = 60,
    ) -> None:
        self._redis = redis
        self._prefix = key_prefix
        self._captcha_after = captcha_after
        self._lock_after = lock_after
        self._window_ms = lock_window_s * 1000
        self._budget = failure_budget
        self._ip_failures = ip_failures
        self._ip_window_ms = ip_window_s * 1000
        self._begin = redis.register_script(_BEGIN)
        self._lock = redis.register_script(_LOCK)
        self._relock = redis.register_script(_RELOCK)
        self._succeeded = redis.register_script(_SUCCEEDED)
        self._release = redis.register_script(_RELEASE)
        self._spend = redis.register_script(_SPEND)
        self._unlock = redis.register_script(_UNLOCK)
        self._ip = redis.register_script(_IP)
        self._ip_give_back = redis.register_script(_IP_GIVE_BACK)

    @property
    def lock_after(self) -> int:
        return self._lock_after

    @property
    def failure_budget(self) -> int:
        return self._budget

    def _keys(self, subject: str) -> tuple[str, str, str, str, str, str]:
        # The hash tag keeps one subject's keys in one cluster slot, as multi-key scripts need.
        base = f"{self._prefix}login:{{{subject}}}"
        return (
            f"{base}:lock",
            f"{base}:day",
            f"{base}:run",
            f"{base}:streak",
            f"{base}:refused",
            f"{base}:since",
        )

    def _ip_key(self, client: str) -> str:
        return f"{self._prefix}login-ip:{{{client}}}"

    async def begin(self, subject: str, *, captcha_passed: bool) -> Attempt:
        """Reserve an attempt before the password check.

        LoginLocked / LoginLockedUntilReset carry `refusals` (this lock's refusals so far),
        or CaptchaRequired.
        """
        reply = await self._begin(
            keys=self._keys(subject),
            args=[
                self._captcha_after,
                self._lock_after,
                self._window_ms,
                int(captcha_passed),
                self._budget,
            ],
        )
        status = int(reply[0])
        if status == 1:
            raise LoginLocked(_utc(int(reply[1])), refusals=int(reply[2]))
        if status == 2:
            raise CaptchaRequired("Solve the captcha to try another password today.")
        if status == 3:
            raise LoginLockedUntilReset(refusals=int(reply[2]))
        number = int(reply[1])
        run_ends = _utc(int(reply[2]) + self._window_ms)
        return Attempt(
            subject,
            number,
            run_ends,
            int(reply[5]),
            run_ends if number == self._lock_after else None,
            spends_budget=int(reply[4]) >= self._budget,
            unrecorded_refusals=after_last_summary(int(reply[3])),
        )

    async def failed(self, attempt: Attempt) -> datetime | None:
        """The password was wrong (and recorded); the run's last failure sets the lock."""
        if attempt.number != self._lock_after:
            return None
        lock_key, _, run_key, _, _, _ = self._keys(attempt.subject)
        until_ms = int(await self._lock(keys=[lock_key, run_key], args=[self._window_ms]))
        return _utc(until_ms) if until_ms else None

    async def succeeded(self, attempt: Attempt) -> None:
        """The password was right: the failure run and streak end; today's failures stay."""
        _, day_key, run_key, streak_key, _, since_key = self._keys(attempt.subject)
        await self._succeeded(keys=[day_key, run_key, streak_key, since_key])

    async def release(self, attempt: Attempt) -> None:
        """The attempt could not be recorded: it does not count either."""
        _, day_key, run_key, streak_key, _, _ = self._keys(attempt.subject)
        await self._release(keys=[day_key, run_key, streak_key], args=[attempt.number])

    async def relock(self, attempt: Attempt, until: datetime | None, until_reset: bool) -> None:
        """PostgreSQL holds a lock Redis lost: restore it; this attempt does not count."""
        await self.release(attempt)
        lock_key, _, _, streak_key, _, _ = self._keys(attempt.subject)
        await self._relock(
            keys=[lock_key, streak_key],
            args=[_ms(until) if until else 0, self._budget if until_reset else 0],
        )

    def _notice_key(self, account_id: str) -> str:
        return f"{self._prefix}lock-notice:{{{account_id}}}"

    async def may_notify_lock(self, account_id: str, interval_s: int) -> bool:
        """Lock notices are rate-limited: True for the first lock of the interval."""
        return bool(await self._redis.set(self._notice_key(account_id), 1, nx=True, ex=interval_s))

    async def forget_lock_notice(self, account_id: str) -> None:
        await self._redis.delete(self._notice_key(account_id))

    async def unspend(self, subject: str) -> None:
        """A code check that compared nothing (no code was issued) does not count."""
        await self._ip_give_back(keys=[self._keys(subject)[3]])

    async def streak(self, subject: str) -> int:
        """Consecutive failures of the subject (passwords and codes)."""
        value = await self._redis.get(self._keys(subject)[3])
        return int(value) if value is not None else 0

    async def spend(self, subject: str, *, refuse_when_spent: bool) -> int | None:
        """A code check counts in the shared streak before it is compared; when a wrong code
        now spends the budget, returns the streak's name (`Attempt.streak_since`), else None
        (LoginLockedUntilReset when it was spent)."""
        keys = self._keys(subject)
        streak, since = await self._spend(
            keys=[keys[3], keys[5]], args=[self._budget, int(refuse_when_spent)]
        )
        if not int(streak):
            raise LoginLockedUntilReset(refusals=0)
        return int(since) if int(streak) == self._budget else None

    async def settle(self, subject: str, *, right: bool) -> None:
        """A code check's outcome: a right code ends the streak, a wrong one stays in it."""
        if right:
            keys = self._keys(subject)
            await self._redis.delete(keys[3], keys[5])

    async def unlock(self, subject: str) -> None:
        """A password reset or an operator lifts the lock and forgets the failures."""
        lock_key, day_key, run_key, streak_key, _, since_key = self._keys(subject)
        await self._unlock(keys=[lock_key, day_key, run_key, streak_key, since_key])

    async def forget(self, subject: str) -> None:
        """CAN-7: everything kept of the subject (lock, counters, streak, refusals) goes."""
        await self._redis.delete(*self._keys(subject))

    async def reserve_ip(self, client: str | None) -> None:
        """Count a password check from this client; LoginThrottled once the window is full."""
        if client is None:
            return
        status, value = await self._ip(
            keys=[self._ip_key(client)], args=[self._ip_failures, self._ip_window_ms]
        )
        if int(status) == 1:
            raise LoginThrottled(max(1, -(-int(value) // 1000)))

    async def give_back_ip(self, client: str | None) -> None:
        if client is not None:
            await self._ip_give_back(keys=[self._ip_key(client)])

    async def locked_until(self, subject: str) -> datetime | None:
        """When the subject's lock ends, or None if password login is not locked."""
        value = await self._redis.get(self._keys(subject)[0])
        return _utc(int(value)) if value is not None else None
