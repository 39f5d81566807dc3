"""MFA-3: a TOTP code is accepted once. Redis keeps the last step used per account; claiming
a step is one Lua script, so of parallel submissions of one code exactly one wins.

A step at or below the last used one is a replay (an older code, even one never used, is
refused too once a newer one has been used: codes only move forward). The key outlives the
steps it guards: a claimed step is at least the current one minus the drift, and its code is
refused by the verifier itself DRIFT_STEPS + 1 steps later, so a few steps of life suffice.
"""

from __future__ import annotations

from redis.asyncio import Redis

from services.identity.domain.totp import DRIFT_STEPS, STEP_S

# Long enough for every step the verifier may still accept, with margin for clock skew
# between instances.
KEEP_S = (2 * DRIFT_STEPS + 2) * STEP_S

# KEYS: last used step. ARGV: step, keep_s. Returns 1 claimed, 0 replay.
_CLAIM = """
local last = redis.call('GET', KEYS[1])
if last and tonumber(ARGV[1]) <= tonumber(last) then
    return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
return 1
"""


class RedisTotpWindow:
    """totp:{account}:last-step holds the last step a code of the account was accepted for.

    Redis errors (ConnectionError, TimeoutError) propagate: a TOTP check fails closed."""

    def __init__(self, redis: Redis, key_prefix: str, *, keep_s: int = KEEP_S) -> None:
        self._prefix = key_prefix
        self._keep_s = keep_s
        self._claim = redis.register_script(_CLAIM)
        self._redis = redis

    def _key(self, account_id: int | str) -> str:
        return f"{self._prefix}totp:{{{account_id}}}:last-step"

    async def claim(self, account_id: int | str, step: int) -> bool:
        """True when `step` is newer than every step used before (and is now the last used);
        False for a replay."""
        return bool(await self._claim(keys=[self._key(account_id)], args=[step, self._keep_s]))

    async def forget(self, account_id: int | str) -> None:
        """The device is unbound: a new device starts with no used step."""
        await self._redis.delete(self._key(account_id))
