"""The login lockout (LOGIN-1..4) and one-time codes (CODE-1..3) against the real Redis."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar, cast
from uuid import uuid4

import pytest
import redis.exceptions
from redis.asyncio import Redis

from services.identity.adapters.code_store import RedisCodeStore
from services.identity.adapters.login_guard import RedisLoginGuard
from services.identity.domain.codes import Budget
from services.identity.domain.errors import (
    CaptchaRequired,
    CodeExpired,
    CodeInvalid,
    CodeRateLimited,
    CodeTooManyTries,
    CodeTriesExhausted,
    LoginLocked,
    LoginLockedUntilReset,
    LoginThrottled,
)
from services.identity.domain.lockout import Attempt

pytestmark = pytest.mark.integration

REDIS_URL = "redis://127.0.0.1:6379/0"
T = TypeVar("T")


@pytest.fixture
async def redis_client() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture
async def prefix(redis_client: Redis) -> AsyncIterator[str]:
    """A key prefix of this test only; its keys are deleted afterwards."""
    value = f"t{uuid4().hex[:8]}:"
    yield value
    async for key in redis_client.scan_iter(match=value + "*"):
        await redis_client.delete(key)


def guard(
    redis_client: Redis,
    prefix: str,
    *,
    captcha_after: int = 3,
    lock_after: int = 10,
    lock_window_s: int = 3600,
) -> RedisLoginGuard:
    return RedisLoginGuard(
        redis_client,
        prefix,
        captcha_after=captcha_after,
        lock_after=lock_after,
        lock_window_s=lock_window_s,
    )


def codes(redis_client: Redis, prefix: str, **overrides: int) -> RedisCodeStore:
    limits = {"ttl_s": 300, "max_tries": 5, "per_minute": 100, "per_day": 100, **overrides}
    return RedisCodeStore(redis_client, prefix, hmac_key="test-code-key", **limits)


def wrong(code: str) -> str:
    """A 6-digit code that is certainly not `code`."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def redis_now(redis_client: Redis) -> datetime:
    seconds, micros = await redis_client.time()
    return datetime.fromtimestamp(seconds + micros / 1e6, UTC)


async def wait_until(probe: Callable[[], Awaitable[bool]], *, timeout_s: float, what: str) -> None:
    """Poll probe until it holds; fail at the deadline."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await probe():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} not reached within {timeout_s}s")


async def outcome(call: Awaitable[T]) -> T | Exception:
    try:
        return await call
    except Exception as exc:
        return exc


async def fail_times(login: RedisLoginGuard, subject: str, n: int) -> list[datetime | None]:
    results = []
    for _ in range(n):
        attempt = await login.begin(subject, captcha_passed=True)
        results.append(await login.failed(attempt))
    return results


def next_utc_midnight(now: datetime) -> datetime:
    return datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)


# LOGIN


async def test_login_4_a_hundred_parallel_wrong_passwords_lock_at_exactly_ten(
    redis_client: Redis, prefix: str
) -> None:
    """LOGIN-4: 100 parallel wrong attempts: 10 get through, 90 are refused, one locks."""
    login = guard(redis_client, prefix)
    subject = uuid4().hex

    async def wrong_password() -> tuple[Attempt, datetime | None] | LoginLocked:
        try:
            attempt = await login.begin(subject, captcha_passed=True)
        except LoginLocked as exc:
            return exc
        await asyncio.sleep(0.01)  # the slow password check, so the attempts overlap
        return attempt, await login.failed(attempt)

    results = await asyncio.gather(*(wrong_password() for _ in range(100)))

    through = [r for r in results if isinstance(r, tuple)]
    refused = [r for r in results if isinstance(r, LoginLocked)]
    assert sorted(attempt.number for attempt, _ in through) == list(range(1, 11))
    assert len(refused) == 90
    lock_ends = [until for _, until in through if until is not None]
    assert len(lock_ends) == 1
    assert lock_ends[0] > await redis_now(redis_client)
    assert await login.locked_until(subject) == lock_ends[0]
    assert {r.locked_until for r in refused} == {lock_ends[0]}
    # The next attempt may carry the right password: begin refuses before it is checked.
    with pytest.raises(LoginLocked) as later:
        await login.begin(subject, captcha_passed=True)
    assert later.value.locked_until == lock_ends[0]


async def test_login_2_the_lock_ends_one_window_after_the_first_failure_of_the_run(
    redis_client: Redis, prefix: str
) -> None:
    """LOGIN-2: the lock lasts until run start + window, not last failure + window."""
    login = guard(redis_client, prefix, captcha_after=100, lock_after=3, lock_window_s=2)
    subject = uuid4().hex
    before_first = await redis_now(redis_client)
    ends = []
    for i in range(3):
        ends.append(await login.failed(await login.begin(subject, captcha_passed=True)))
        if i == 0:
            after_first = await redis_now(redis_client)
        await asyncio.sleep(0.4)  # spreads the failures over time; not a wait on a condition

    locked_until = ends[-1]
    assert ends[:2] == [None, None]
    assert locked_until is not None
    # The first failure happened between the two readings of Redis's clock.
    assert (locked_until - before_first).total_seconds() >= 2 - 0.001
    assert (locked_until - after_first).total_seconds() <= 2 + 0.001
    with pytest.raises(LoginLocked):
        await login.begin(subject, captcha_passed=True)

    async def allowed() -> bool:
        try:
            attempt = await login.begin(subject, captcha_passed=True)
        except LoginLocked:
            return False
        assert await redis_now(redis_client) >= locked_until
        assert attempt.number == 1  # a new run
        return True

    await wait_until(allowed, timeout_s=5, what="the lock to end")
    assert await login.locked_until(subject) is None


async def test_login_3_while_locked_every_attempt_is_refused_saying_until_when(
    redis_client: Redis, prefix: str
) -> None:
    """LOGIN-3: while locked, begin (before any password check) says when the lock ends."""
    login = guard(redis_client, prefix)
    subject = uuid4().hex
    assert await login.locked_until(subject) is None
    ends = await fail_times(login, subject, 10)
    locked_until = ends[-1]
    assert ends[:-1] == [None] * 9 and locked_until is not None

    for captcha_passed in (True, False):
        with pytest.raises(LoginLocked) as refused:
            await login.begin(subject, captcha_passed=captcha_passed)
        assert refused.value.locked_until == locked_until
        assert refused.value.locked_until > await redis_now(redis_client)
        assert refused.value.details["locked_until"] == locked_until.isoformat()
    assert await login.locked_until(subject) == locked_until
    # Another subject is not affected.
    assert (await login.begin(uuid4().hex, captcha_passed=False)).number == 1


async def test_login_1_after_three_failures_today_a_captcha_is_required_and_not_counted(
    redis_client: Redis, prefix: str
) -> None:
    """LOGIN-1: the 4th attempt of the day needs a captcha; refusals for it do not count."""
    login = guard(redis_client, prefix)
    subject = uuid4().hex
    for number in (1, 2, 3):
        attempt = await login.begin(subject, captcha_passed=False)
        assert attempt.number == number
        await login.failed(attempt)

    for _ in range(20):  # more than lock_after: none of them counts
        with pytest.raises(CaptchaRequired):
            await login.begin(subject, captcha_passed=False)
    assert await login.locked_until(subject) is None
    assert (await login.begin(subject, captcha_passed=True)).number == 4


async def test_login_1_a_success_ends_the_run_but_not_the_days_failures(
    redis_client: Redis, prefix: str
) -> None:
    """LOGIN-1: the captcha counts the day's failures; a success only resets the lock run."""
    login = guard(redis_client, prefix)
    subject = uuid4().hex
    await fail_times(login, subject, 3)
    await login.succeeded(await login.begin(subject, captcha_passed=True))

    with pytest.raises(CaptchaRequired):
        await login.begin(subject, captcha_passed=False)
    # The run starts again: ten more failures are needed to lock.
    ends = await fail_times(login, subject, 10)
    assert ends[:-1] == [None] * 9 and ends[-1] is not None


async def test_login_1_the_day_count_expires_at_the_end_of_the_utc_day(
    redis_client: Redis, prefix: str
) -> None:
    """LOGIN-1: "a day" is the UTC day: the failure counter expires at the next midnight."""
    login = guard(redis_client, prefix)
    await fail_times(login, uuid4().hex, 1)
    day_keys = [k async for k in redis_client.scan_iter(match=prefix + "*:day")]
    assert len(day_keys) == 1
    # redis-py types expiretime as the sync client's int; the async client returns a coroutine.
    expiretime = cast(Awaitable[int], redis_client.expiretime(day_keys[0]))
    expires_at = datetime.fromtimestamp(await expiretime, UTC)
    assert expires_at == next_utc_midnight(await redis_now(redis_client))


async def test_login_1_and_4_parallel_attempts_cannot_skip_the_captcha(
    redis_client: Redis, prefix: str
) -> None:
    """LOGIN-1, LOGIN-4: of 20 parallel attempts without captcha, only 3 are let through."""
    login = guard(redis_client, prefix)
    subject = uuid4().hex
    results = await asyncio.gather(
        *(outcome(login.begin(subject, captcha_passed=False)) for _ in range(20))
    )
    assert sum(isinstance(r, Attempt) for r in results) == 3
    assert sum(isinstance(r, CaptchaRequired) for r in results) == 17


async def test_login_4_a_hundred_parallel_failures_spend_a_budget_of_twenty_exactly(
    redis_client: Redis, prefix: str
) -> None:
    """LOGIN-4 (NIST SP 800-63B 5.2.2): the budget of consecutive failures holds under
    concurrency: of 100 parallel attempts 20 are checked, 80 refused until a reset."""
    login = RedisLoginGuard(
        redis_client,
        prefix,
        captcha_after=1000,
        lock_after=1000,
        lock_window_s=3600,
        failure_budget=20,
    )
    subject = uuid4().hex

    async def attempt() -> Attempt | Exception:
        try:
            reserved = await login.begin(subject, captcha_passed=True)
        except LoginLockedUntilReset as exc:
            return exc
        await asyncio.sleep(0.01)  # the slow password check, so the attempts overlap
        await login.failed(reserved)
        return reserved

    results = await asyncio.gather(*(attempt() for _ in range(100)))
    through = [r for r in results if isinstance(r, Attempt)]
    assert len(through) == 20
    assert [r.spends_budget for r in through].count(True) == 1
    assert sum(isinstance(r, LoginLockedUntilReset) for r in results) == 80
    # A code check is refused too, and an unlock (a reset) opens both again.
    with pytest.raises(LoginLockedUntilReset):
        await login.spend(subject, refuse_when_spent=True)
    await login.unlock(subject)
    assert (await login.begin(subject, captcha_passed=True)).number == 1


async def test_login_4_the_client_ip_throttle_holds_under_concurrency(
    redis_client: Redis, prefix: str
) -> None:
    """LOGIN-4: 50 parallel checks from one address with a limit of 10: exactly 10 pass;
    another address is not affected; a success gives its place back."""
    login = RedisLoginGuard(
        redis_client,
        prefix,
        captcha_after=3,
        lock_after=10,
        lock_window_s=3600,
        ip_failures=10,
        ip_window_s=60,
    )
    results = await asyncio.gather(*(outcome(login.reserve_ip("192.0.2.7")) for _ in range(50)))
    assert results.count(None) == 10
    throttled = [r for r in results if isinstance(r, LoginThrottled)]
    assert len(throttled) == 40
    assert all(0 < r.retry_after_s <= 60 for r in throttled)
    await login.reserve_ip("192.0.2.8")
    await login.give_back_ip("192.0.2.7")
    await login.reserve_ip("192.0.2.7")
    with pytest.raises(LoginThrottled):
        await login.reserve_ip("192.0.2.7")


async def test_login_fails_closed_when_redis_is_unreachable() -> None:
    """LOGIN-4: no Redis, no password login: the connection error reaches the caller."""
    unreachable = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    try:
        login = guard(unreachable, "unused:")
        with pytest.raises(redis.exceptions.ConnectionError):
            await login.begin(uuid4().hex, captcha_passed=True)
        with pytest.raises(redis.exceptions.ConnectionError):
            await codes(unreachable, "unused:").issue("register", "ann@example.com")
    finally:
        await unreachable.aclose()


# CODE


async def test_both_adapters_work_with_a_client_that_decodes_responses(prefix: str) -> None:
    """LOGIN-2, CODE-1: the adapters do not depend on how the caller's client decodes."""
    client = Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        login = guard(client, prefix, lock_after=2)
        subject = uuid4().hex
        ends = await fail_times(login, subject, 2)
        assert ends[1] is not None and await login.locked_until(subject) == ends[1]
        store = codes(client, prefix)
        await store.verify(
            "register", "ann@example.com", await store.issue("register", "ann@example.com")
        )
    finally:
        await client.aclose()


async def test_code_1_codes_are_six_digits_and_single_use(redis_client: Redis, prefix: str) -> None:
    """CODE-1: 6 digits; the right code works once, then it is gone."""
    store = codes(redis_client, prefix)
    issued = [await store.issue("register", f"u{i}@example.com") for i in range(30)]
    assert all(re.fullmatch(r"[0-9]{6}", code) for code in issued)

    await store.verify("register", "u0@example.com", issued[0])
    with pytest.raises(CodeExpired):
        await store.verify("register", "u0@example.com", issued[0])
    # A code proves only its own purpose and destination.
    with pytest.raises(CodeExpired):
        await store.verify("reset_password", "u1@example.com", issued[1])
    if issued[1] != issued[2]:
        with pytest.raises(CodeInvalid):
            await store.verify("register", "u2@example.com", issued[1])


async def test_code_1_parallel_verifies_of_the_right_code_consume_it_once(
    redis_client: Redis, prefix: str
) -> None:
    """CODE-1: single use holds under concurrency: one of 5 parallel right answers wins."""
    store = codes(redis_client, prefix)
    code = await store.issue("register", "ann@example.com")
    results = await asyncio.gather(
        *(outcome(store.verify("register", "ann@example.com", code)) for _ in range(5))
    )
    assert results.count(None) == 1
    assert sum(isinstance(r, CodeExpired) for r in results) == 4


async def test_code_1_a_new_code_replaces_the_previous_one(
    redis_client: Redis, prefix: str
) -> None:
    """CODE-1: only the latest code of a purpose and destination is valid."""
    store = codes(redis_client, prefix)
    first = await store.issue("register", "ann@example.com")
    second = first
    while second == first:  # one chance in a million that they are equal
        second = await store.issue("register", "ann@example.com")
    with pytest.raises(CodeInvalid):
        await store.verify("register", "ann@example.com", first)
    await store.verify("register", "ann@example.com", second)


async def test_code_1_a_code_expires_after_its_ttl(redis_client: Redis, prefix: str) -> None:
    """CODE-1: past ttl_s even the right code is refused as expired."""
    store = codes(redis_client, prefix, ttl_s=1)
    kept = await store.issue("register", "ann@example.com")
    late = await store.issue("register", "ben@example.com")
    issued_at = await redis_now(redis_client)
    await store.verify("register", "ann@example.com", kept)

    async def ttl_passed() -> bool:
        return await redis_now(redis_client) > issued_at + timedelta(seconds=1.1)

    await wait_until(ttl_passed, timeout_s=5, what="the code's ttl to pass")
    with pytest.raises(CodeExpired):
        await store.verify("register", "ben@example.com", late)


async def test_code_1_fifty_parallel_wrong_tries_compare_at_most_five(
    redis_client: Redis, prefix: str
) -> None:
    """CODE-1: 50 parallel wrong codes: exactly 5 are compared, then even the right one fails."""
    store = codes(redis_client, prefix)
    code = await store.issue("register", "ann@example.com")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    results = await asyncio.gather(
        *(outcome(store.verify("register", "ann@example.com", wrong)) for _ in range(50))
    )
    invalid = [r for r in results if isinstance(r, CodeInvalid)]
    assert sorted(r.details["tries_left"] for r in invalid) == [0, 1, 2, 3, 4]
    assert sum(isinstance(r, CodeTooManyTries) for r in results) == 45
    with pytest.raises(CodeTooManyTries):
        await store.verify("register", "ann@example.com", code)


async def test_code_1_malformed_codes_count_as_tries(redis_client: Redis, prefix: str) -> None:
    """CODE-1: junk is refused as invalid and counted, so junk cannot probe forever."""
    store = codes(redis_client, prefix)
    code = await store.issue("register", "ann@example.com")
    for junk in ("", "1234567", "abcdef", "١٢٣٤٥٦", f" {code}"):
        with pytest.raises(CodeInvalid):
            await store.verify("register", "ann@example.com", junk)
    with pytest.raises(CodeTooManyTries):
        await store.verify("register", "ann@example.com", code)


async def test_code_2_one_code_a_minute_per_destination(redis_client: Redis, prefix: str) -> None:
    """CODE-2: per_minute=1: the second send within the minute is refused with retry_after."""
    store = codes(redis_client, prefix, per_minute=1)
    await store.issue("register", "ann@example.com")
    with pytest.raises(CodeRateLimited) as limited:
        await store.issue("bind_email", "ann@example.com")  # the limit spans a purpose class
    assert 0 < limited.value.retry_after_s <= 60
    assert limited.value.details["scope"] == "destination"
    await store.issue("register", "ben@example.com")  # another destination is not affected


async def test_code_2_parallel_sends_respect_the_minute_limit(
    redis_client: Redis, prefix: str
) -> None:
    """CODE-2: of 20 parallel sends with per_minute=1, exactly one goes out."""
    store = codes(redis_client, prefix, per_minute=1)
    results = await asyncio.gather(
        *(outcome(store.issue("register", "ann@example.com")) for _ in range(20))
    )
    assert sum(isinstance(r, str) for r in results) == 1
    assert sum(isinstance(r, CodeRateLimited) for r in results) == 19


async def test_code_2_the_day_limit_lasts_until_utc_midnight(
    redis_client: Redis, prefix: str
) -> None:
    """CODE-2: per_day sends per UTC day; then retry_after points at the next midnight."""
    store = codes(redis_client, prefix, per_minute=100, per_day=3)
    for _ in range(3):
        await store.issue("register", "ann@example.com")
    with pytest.raises(CodeRateLimited) as limited:
        await store.issue("register", "ann@example.com")
    now = await redis_now(redis_client)
    to_midnight = (next_utc_midnight(now) - now).total_seconds()
    assert abs(limited.value.retry_after_s - to_midnight) <= 2


async def test_code_3_redis_holds_neither_the_code_nor_the_destination(
    redis_client: Redis, prefix: str
) -> None:
    """CODE-3: no key name or value contains the code or the destination in clear."""
    store = codes(redis_client, prefix)
    destinations = ["ann@example.com", "+8613800138000"]
    issued = [await store.issue("register", d) for d in destinations]
    wrong = f"{(int(issued[0]) + 1) % 1_000_000:06d}"
    with pytest.raises(CodeInvalid):  # a try is stored too
        await store.verify("register", destinations[0], wrong)

    stored: list[bytes] = []
    async for key in redis_client.scan_iter(match=prefix + "*"):
        stored.append(key)
        value = (
            await cast(Awaitable[dict[bytes, bytes]], redis_client.hgetall(key))
            if await redis_client.type(key) == b"hash"
            else {b"": await redis_client.get(key)}
        )
        stored.extend(bytes(part) for item in value.items() for part in item)
    assert len(stored) > 2
    # A 6-digit run turns up in the random hex of HMACs about once in 20 000 runs.
    for text in [*destinations, "8613800138000", *issued]:
        assert not any(text.encode() in part for part in stored), text


async def test_code_1_the_right_code_after_five_wrong_tries_says_the_code_is_void(
    redis_client: Redis, prefix: str
) -> None:
    """CODE-1: the 5th wrong try voids the code and says so; every later try, the right code
    included, gets the one answer CODE_TOO_MANY_TRIES (never CODE_EXPIRED) until it expires."""
    store = codes(redis_client, prefix)
    code = await store.issue("register", "ann@example.com")
    for left in (4, 3, 2, 1, 0):
        with pytest.raises(CodeInvalid) as refused:
            await store.verify("register", "ann@example.com", wrong(code))
        assert refused.value.details == {"tries_left": left}
    assert "void" in refused.value.message
    for _ in range(3):
        with pytest.raises(CodeTooManyTries) as void:
            await store.verify("register", "ann@example.com", code)
        assert "request a new code" in void.value.message
    await store.verify(
        "register", "ann@example.com", await store.issue("register", "ann@example.com")
    )


async def test_code_1_a_new_code_does_not_give_new_tries_to_a_destination(
    redis_client: Redis, prefix: str
) -> None:
    """CODE-1: wrong tries are capped per destination and UTC day across codes: after the
    cap even the right code of a fresh code is refused, and no new code is sent."""
    store = codes(redis_client, prefix, max_tries_per_day=7)
    first = await store.issue("reset_password", "+8613800138000")
    for _ in range(5):
        with pytest.raises(CodeInvalid):
            await store.verify("reset_password", "+8613800138000", wrong(first))
    second = await store.issue("reset_password", "+8613800138000")
    for left in (4, 3):
        with pytest.raises(CodeInvalid) as refused:
            await store.verify("reset_password", "+8613800138000", wrong(second))
        assert refused.value.details == {"tries_left": left}
    with pytest.raises(CodeTriesExhausted) as exhausted:
        await store.verify("reset_password", "+8613800138000", second)
    now = await redis_now(redis_client)
    assert abs(exhausted.value.retry_after_s - (next_utc_midnight(now) - now).total_seconds()) <= 2
    with pytest.raises(CodeTriesExhausted):
        await store.issue("reset_password", "+8613800138000")
    # The owner's other purpose classes keep their own tries (a register code guesser cannot
    # lock the owner out of verifying who they are).
    verify = await store.issue("verify_identity", "+8613800138000")
    await store.verify("verify_identity", "+8613800138000", verify)


async def test_code_1_a_right_code_gives_its_try_back(redis_client: Redis, prefix: str) -> None:
    """CODE-1: the day's cap counts wrong tries: a person who gets codes right is not capped."""
    store = codes(redis_client, prefix, max_tries_per_day=2)
    for _ in range(5):
        code = await store.issue("verify_identity", "ann@example.com")
        await store.verify("verify_identity", "ann@example.com", code)


async def test_code_1_parallel_wrong_tries_across_codes_stop_at_the_days_cap(
    redis_client: Redis, prefix: str
) -> None:
    """CODE-1, concurrency: 50 parallel wrong tries with a cap of 3 a day: exactly 3 compared."""
    store = codes(redis_client, prefix, max_tries_per_day=3)
    code = await store.issue("register", "ann@example.com")
    results = await asyncio.gather(
        *(outcome(store.verify("register", "ann@example.com", wrong(code))) for _ in range(50))
    )
    assert sum(isinstance(r, CodeInvalid) for r in results) == 3
    assert sum(isinstance(r, CodeTriesExhausted) for r in results) == 47


async def test_code_2_register_codes_cannot_spend_the_owners_reset_or_verify_budget(
    redis_client: Redis, prefix: str
) -> None:
    """CODE-2: purposes that prove an existing account keep budgets of their own: a day's
    worth of anonymous register codes to a phone leaves its owner's reset and verify codes."""
    store = codes(redis_client, prefix, per_minute=100, per_day=9)
    for _ in range(9):
        await store.issue("register", "+8613800138000")
    with pytest.raises(CodeRateLimited):
        await store.issue("change_secure_phone", "+8613800138000")
    await store.issue("reset_password", "+8613800138000")
    await store.issue("verify_identity", "+8613800138000")


@pytest.mark.parametrize(
    ("scope", "subject", "limit"),
    [("client", "203.0.113.7", 5), ("prefix", "8613800", 7), ("global", "sms", 9)],
)
async def test_code_2_parallel_sends_respect_each_shared_budget(
    redis_client: Redis, prefix: str, scope: str, subject: str, limit: int
) -> None:
    """CODE-2, concurrency: 40 parallel sends against one budget: exactly `limit` pass; the
    refusals name the budget and say when it refills."""
    store = codes(redis_client, prefix)
    budget = Budget(scope, subject, limit, 3600)
    results = await asyncio.gather(*(outcome(store.spend([budget])) for _ in range(40)))
    assert results.count(None) == limit
    refused = [r for r in results if isinstance(r, CodeRateLimited)]
    assert len(refused) == 40 - limit
    assert {r.details["scope"] for r in refused} == {scope}
    assert all(3500 <= r.retry_after_s <= 3600 for r in refused)
    await store.spend([Budget(scope, f"other-{subject}", limit, 3600)])


async def test_code_2_a_send_spends_every_budget_or_none(redis_client: Redis, prefix: str) -> None:
    """CODE-2: a send refused by one budget spends none of the others; refund gives back."""
    store = codes(redis_client, prefix)
    roomy = Budget("client", "203.0.113.7", 10, 3600)
    tight = Budget("global", "sms", 2, 3600)
    results = [await outcome(store.spend([roomy, tight])) for _ in range(6)]
    assert results.count(None) == 2
    await store.refund([roomy, tight])
    await store.spend([tight])  # the refund made room in tight ...
    for _ in range(9):  # ... and in roomy: 2 spent, 1 given back, so 9 more fit in 10
        await store.spend([roomy])
    with pytest.raises(CodeRateLimited) as limited:
        await store.spend([roomy])
    assert limited.value.details["scope"] == "client"
