"""Sessions live in Redis (revocable at once); access tokens are signed (verifiable offline).

A session has an idle expiry that slides with use and an absolute end it never passes. Its
refresh token is separate from the access token, single use, and rotated on every refresh:
presenting a refresh token that was already used ends the whole session (whoever holds the
other copy, the owner or a thief, must log in again). Every check-and-change is one Lua
script, so parallel refreshes cannot both rotate.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

from services.identity.domain.errors import (
    LoginRefused,
    RefreshTokenInvalid,
    RefreshTokenReused,
)
from services.identity.service_layer.ports import Opened, Refreshed
from shared.auth import Caller, LocalKeys, TokenSigner, Unauthenticated

_NOW_MS = """
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# The session's key expires at the idle deadline or at its absolute end, whichever is first.
_SLIDE = """
local function slide(key, until_ms, idle_ms)
    redis.call('PEXPIREAT', key, math.min(now_ms + idle_ms, until_ms))
end
"""

# KEYS: session, index, closed-for-good marker. ARGV: account, refresh hash, idle_ms, max_ms,
# sid, amr, auth_time, step_up_at ('' for none). Returns -1 (nothing opened) once the account
# was closed for good (CAN-7), else the absolute end.
# The index never expires before the absolute end of its newest session, so close_all finds
# every session that can still be live (a sliding session cannot outlive its absolute end).
_OPEN = (
    _NOW_MS
    + _SLIDE
    + """
if redis.call('EXISTS', KEYS[3]) == 1 then
    return -1
end
local until_ms = now_ms + tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 'account', ARGV[1], 'until', until_ms, 'refresh', ARGV[2],
           'amr', ARGV[6], 'auth_time', ARGV[7], 'step_up_at', ARGV[8])
slide(KEYS[1], until_ms, tonumber(ARGV[3]))
redis.call('SADD', KEYS[2], ARGV[5])
local left = redis.call('PTTL', KEYS[2])
if left < 0 or left < until_ms - now_ms then
    redis.call('PEXPIREAT', KEYS[2], until_ms)
end
return until_ms
"""
)

# KEYS: session. ARGV: account, idle_ms. Returns 1 when the session is live (and slides it).
_TOUCH = (
    _NOW_MS
    + _SLIDE
    + """
local found = redis.call('HMGET', KEYS[1], 'account', 'until')
if not found[1] or found[1] ~= ARGV[1] then
    return 0
end
local until_ms = tonumber(found[2])
if until_ms <= now_ms then
    redis.call('DEL', KEYS[1])
    return 0
end
slide(KEYS[1], until_ms, tonumber(ARGV[2]))
return 1
"""
)

# KEYS: session, index. ARGV: presented hash, new hash, idle_ms, sid.
# Returns {1, until_ms, amr, auth_time, step_up_at} rotated, {2} a used token came back
# (session ended), {0} unknown.
_REFRESH = (
    _NOW_MS
    + _SLIDE
    + """
local found = redis.call('HMGET', KEYS[1], 'until', 'refresh')
if not found[1] then
    return {0}
end
local until_ms = tonumber(found[1])
if until_ms <= now_ms then
    redis.call('DEL', KEYS[1])
    redis.call('SREM', KEYS[2], ARGV[4])
    return {0}
end
if found[2] == ARGV[1] then
    redis.call('HSET', KEYS[1], 'refresh', ARGV[2], 'used:' .. ARGV[1], 1)
    slide(KEYS[1], until_ms, tonumber(ARGV[3]))
    local how = redis.call('HMGET', KEYS[1], 'amr', 'auth_time', 'step_up_at')
    return {1, until_ms, how[1] or '', how[2] or '', how[3] or ''}
end
if redis.call('HEXISTS', KEYS[1], 'used:' .. ARGV[1]) == 1 then
    redis.call('DEL', KEYS[1])
    redis.call('SREM', KEYS[2], ARGV[4])
    return {2}
end
return {0}
"""
)

# KEYS: session. ARGV: account, factor, step-up time (s). A live session of the account
# records the second factor; returns {1, amr, auth_time} or {0}.
_STEP_UP = (
    _NOW_MS
    + """
local found = redis.call('HMGET', KEYS[1], 'account', 'until', 'amr', 'auth_time')
if not found[1] or found[1] ~= ARGV[1] or tonumber(found[2]) <= now_ms then
    return {0}
end
local amr = found[3] or ''
if not string.find(',' .. amr .. ',', ',' .. ARGV[2] .. ',', 1, true) then
    if amr == '' then amr = ARGV[2] else amr = amr .. ',' .. ARGV[2] end
end
redis.call('HSET', KEYS[1], 'amr', amr, 'step_up_at', ARGV[3])
return {1, amr, found[4] or ''}
"""
)

# KEYS: index. ARGV: session key prefix, sid to keep ('' for none). Atomic, so a session
# opened meanwhile is either ended or was opened after the close.
_CLOSE_ALL = """
local ended = 0
for _, sid in ipairs(redis.call('SMEMBERS', KEYS[1])) do
    if sid ~= ARGV[2] then
        ended = ended + redis.call('DEL', ARGV[1] .. sid)
        redis.call('SREM', KEYS[1], sid)
    end
end
return ended
"""


_REFRESH_TOKEN = re.compile(r"([0-9]{1,20})\.([A-Za-z0-9_-]{32})\.([A-Za-z0-9_-]{43})")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _text(value: bytes | str | None) -> str:
    return value.decode() if isinstance(value, bytes) else (value or "")


def _how(
    amr: bytes | str | None, auth_time: bytes | str | None, step_up_at: bytes | str | None = None
) -> dict[str, Any]:
    """A session's authentication facts as stored in its hash, as Caller fields."""
    methods, auth, step = _text(amr), _text(auth_time), _text(step_up_at)
    return {
        "amr": tuple(m for m in methods.split(",") if m),
        "auth_time": int(auth) if auth else None,
        "step_up_at": int(step) if step else None,
    }


class RedisSessionStore:
    """Sessions per account in Redis; the hash tag keeps one account's keys in one slot."""

    def __init__(
        self,
        redis: Redis,
        key_prefix: str,
        *,
        signer: TokenSigner,
        keys: LocalKeys,
        ttl_s: int,
        max_s: int,
    ) -> None:
        self._redis = redis
        self._prefix = key_prefix
        self._signer = signer
        self._keys = keys
        self._idle_ms = ttl_s * 1000
        self._max_ms = max_s * 1000
        self._open = redis.register_script(_OPEN)
        self._touch = redis.register_script(_TOUCH)
        self._refresh = redis.register_script(_REFRESH)
        self._close_all = redis.register_script(_CLOSE_ALL)
        self._step_up = redis.register_script(_STEP_UP)

    def _base(self, account_id: str) -> str:
        return f"{self._prefix}session:{{{account_id}}}:"

    def _session(self, account_id: str, sid: str) -> str:
        return self._base(account_id) + sid

    def _index(self, account_id: str) -> str:
        # "all" cannot be a session id: those are URL-safe base64 of 24 bytes (32 chars).
        return self._base(account_id) + "all"

    def _closed(self, account_id: str) -> str:
        return self._base(account_id) + "closed"

    async def open(self, account_id: str, now: datetime, *, amr: tuple[str, ...] = ()) -> Opened:
        """A new session, its first access token and its first refresh token. `amr`: the
        factors the login proved; a second one among them counts as a step-up at `now`."""
        auth_time = int(now.timestamp())
        caller = Caller(
            account_id=account_id,
            session_id=secrets.token_urlsafe(24),
            amr=amr,
            auth_time=auth_time,
            step_up_at=auth_time if len(amr) > 1 else None,
        )
        secret = secrets.token_urlsafe(32)
        until_ms = await self._open(
            keys=[
                self._session(account_id, caller.session_id),
                self._index(account_id),
                self._closed(account_id),
            ],
            args=[
                account_id,
                _digest(secret),
                self._idle_ms,
                self._max_ms,
                caller.session_id,
                ",".join(amr),
                auth_time,
                caller.step_up_at or "",
            ],
        )
        if int(until_ms) < 0:
            raise LoginRefused("This account is cancelled.")
        return Opened(
            caller,
            self.token(caller, now),
            self._refresh_token(caller, secret),
            _utc(int(until_ms)),
        )

    @staticmethod
    def _refresh_token(caller: Caller, secret: str) -> str:
        return f"{caller.account_id}.{caller.session_id}.{secret}"

    def token(self, caller: Caller, now: datetime) -> str:
        return self._signer.sign(caller, now=now)

    @property
    def access_ttl_s(self) -> int:
        return self._signer.ttl_s

    async def authenticate(self, token: str) -> Caller:
        """A valid token whose session is still live; raises Unauthenticated."""
        caller = await self._keys.verify(token)
        live = await self._touch(
            keys=[self._session(caller.account_id, caller.session_id)],
            args=[caller.account_id, self._idle_ms],
        )
        if not int(live):
            raise Unauthenticated("The session has ended: log in again.")
        return caller

    async def refresh(self, refresh_token: str, now: datetime) -> Refreshed:
        """Rotate the refresh token; a reused one ends the session (RefreshTokenReused)."""
        parts = _REFRESH_TOKEN.fullmatch(refresh_token)
        if parts is None:
            raise RefreshTokenInvalid("The refresh token is not valid: log in again.")
        account_id, sid, secret = parts.groups()
        new_secret = secrets.token_urlsafe(32)
        reply = await self._refresh(
            keys=[self._session(account_id, sid), self._index(account_id)],
            args=[_digest(secret), _digest(new_secret), self._idle_ms, sid],
        )
        status = int(reply[0])
        if status == 2:
            raise RefreshTokenReused(
                "This refresh token was used before, so the session has ended: log in again."
            )
        if status != 1:
            raise RefreshTokenInvalid("The refresh token is not valid: log in again.")
        caller = Caller(account_id=account_id, session_id=sid, **_how(*reply[2:5]))
        return Refreshed(
            caller,
            self.token(caller, now),
            self._refresh_token(caller, new_secret),
            _utc(int(reply[1])),
        )

    async def step_up(self, caller: Caller, factor: str, now: datetime) -> str:
        """Record a second factor proven now on the caller's live session; returns an access
        token that carries it (`amr`, `step_up_at`)."""
        at = int(now.timestamp())
        reply = await self._step_up(
            keys=[self._session(caller.account_id, caller.session_id)],
            args=[caller.account_id, factor, at],
        )
        if not int(reply[0]):
            raise Unauthenticated("The session has ended: log in again.")
        raised = Caller(
            account_id=caller.account_id,
            session_id=caller.session_id,
            **_how(reply[1], reply[2], str(at)),
        )
        return self.token(raised, now)

    async def close(self, caller: Caller) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._session(caller.account_id, caller.session_id))
            pipe.srem(self._index(caller.account_id), caller.session_id)
            await pipe.execute()

    async def close_for_good(self, account_id: str, *, keep_s: int) -> int:
        """CAN-7: end every session of the account, and refuse to open one for `keep_s`
        (longer than any login in flight), so a login that checked the account before its
        cancellation cannot open a session after it. Returns how many were live."""
        await self._redis.set(self._closed(account_id), 1, ex=keep_s)
        return await self.close_all(account_id)

    async def close_all(self, account_id: str, *, keep: str | None = None) -> int:
        """End every session of the account (but `keep`); returns how many were live."""
        ended = await self._close_all(
            keys=[self._index(account_id)], args=[self._base(account_id), keep or ""]
        )
        return int(ended)
