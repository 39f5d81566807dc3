"""Benchmark: concurrent password logins over HTTP against a running identity service.

Not a test. It starts what it needs (the embedded broker unless KAFKA_BOOTSTRAP_SERVERS is
set, and identity as its own process with the production argon2 parameters), registers a few
accounts, then fires N logins with C in flight and prints logins/s and p50/p99 latency, next
to the two baselines that bound it on this machine: argon2id verifications per second with the
same parameters (one thread, and as many threads as cores) and one Redis round trip.

    .venv/bin/python bench/identity_login.py --logins 400 --concurrency 16 --accounts 20
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import redis.asyncio as aioredis
from argon2 import PasswordHasher, Type

from services.identity.settings import IdentitySettings
from shared.devtools.broker import start_embedded_broker
from shared.testing.accounts import TEST_PASSWORD, UNLIMITED_CODES, register_by_email
from shared.testing.infra import Infra
from shared.testing.services import ServiceProcess


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def argon2_rate(settings: IdentitySettings, threads: int, seconds: float = 3.0) -> float:
    """Verifications per second with the service's parameters."""
    hasher = PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
        type=Type.ID,
    )
    stored = hasher.hash(TEST_PASSWORD)
    deadline = time.perf_counter() + seconds

    def work() -> int:
        done = 0
        while time.perf_counter() < deadline:
            hasher.verify(stored, TEST_PASSWORD)
            done += 1
        return done

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(lambda _: work(), range(threads)))
    return total / (time.perf_counter() - start)


async def redis_rtt(url: str, rounds: int = 2000) -> float:
    client = aioredis.Redis.from_url(url)
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        await client.ping()  # type: ignore[misc]
        samples.append(time.perf_counter() - start)
    await client.aclose()
    return statistics.median(samples)


async def run(args: argparse.Namespace) -> None:
    broker = None
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not kafka:
        broker = start_embedded_broker()
        kafka = broker.bootstrap_servers
    infra = Infra(
        kafka=kafka,
        postgres_dsn=os.environ.get("POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432"),
        redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    )
    scope = infra.scope()
    settings = IdentitySettings()
    env = scope.env(
        LOGIN_CAPTCHA_AFTER=1000,
        LOG_LEVEL="WARNING",
        DEV_MODE="true",  # the dev captcha route: /v1/codes needs a solved captcha
        **{k.upper(): v for k, v in UNLIMITED_CODES.items()},
    )
    service = ServiceProcess("identity", env, Path(tempfile.mkdtemp()))
    service.start().wait_ready(90)
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=60) as client:
            emails = []
            for i in range(args.accounts):
                email = f"bench{i}-{uuid.uuid4().hex[:6]}@example.com"
                reply = await register_by_email(
                    client,
                    kafka=kafka,
                    topic_prefix=scope.prefix,
                    email=email,
                    phone=f"+86137{i:08d}",
                )
                assert reply.status_code == 201, reply.text
                emails.append(email)

            latencies: list[float] = []
            failures = 0
            gate = asyncio.Semaphore(args.concurrency)

            async def one(i: int) -> None:
                nonlocal failures
                async with gate:
                    start = time.perf_counter()
                    reply = await client.post(
                        "/v1/sessions",
                        json={
                            "method": "password",
                            "email": emails[i % len(emails)],
                            "password": TEST_PASSWORD,
                        },
                    )
                    latencies.append(time.perf_counter() - start)
                    failures += reply.status_code != 201

            await asyncio.gather(*(one(i) for i in range(min(args.concurrency, 8))))  # warm up
            latencies.clear()
            started = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(args.logins)))
            elapsed = time.perf_counter() - started
    finally:
        service.stop()
        if broker is not None:
            broker.stop()

    cores = os.cpu_count() or 1
    one_thread = argon2_rate(settings, 1)
    all_threads = argon2_rate(settings, cores)
    rtt = await redis_rtt(infra.redis_url)
    rate = args.logins / elapsed
    print(
        f"argon2id t={settings.argon2_time_cost} m={settings.argon2_memory_kib}KiB "
        f"p={settings.argon2_parallelism}; {args.logins} logins, {args.concurrency} in flight, "
        f"{args.accounts} accounts, {cores} cores"
    )
    p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
    print(
        f"password logins over HTTP : {rate:8.1f} /s   p50 {p50:7.1f} ms"
        f"   p99 {p99:7.1f} ms   failed {failures}"
    )
    print(f"argon2id verify, 1 thread : {one_thread:8.1f} /s   ({1000 / one_thread:.1f} ms each)")
    print(f"argon2id verify, {cores} threads: {all_threads:8.1f} /s")
    print(f"redis PING round trip     : {rtt * 1e6:8.0f} us (median)")
    print(f"logins / argon2 ceiling   : {rate / all_threads:8.2f}  (1.00 = all time in argon2)")


def main() -> None:
    parser = argparse.ArgumentParser(description="identity password-login benchmark")
    parser.add_argument("--logins", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--accounts", type=int, default=20)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
