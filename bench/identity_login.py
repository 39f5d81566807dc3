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
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import redis.asyncio as aioredis
from argon2 import PasswordHasher, Type

from devkit.cpu import CpuMeter, backend_pids, cpu_s
from devkit.testing.accounts import TEST_PASSWORD, UNLIMITED_CODES, register_by_email
from devkit.testing.infra import bench_infra
from devkit.testing.services import ServiceProcess
from services.identity.settings import IdentitySettings


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


class KeepAliveClient:
    """POSTs JSON over a pool of keep-alive HTTP/1.1 connections, in a few lines of asyncio.
    The logins are sent with it rather than httpx, whose ~2 ms of CPU per request (measured
    with --profile) is spent on the same two cores as the service being measured."""

    def __init__(self, host: str, port: int) -> None:
        self._host, self._port = host, port
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def post(self, path: str, body: bytes) -> int:
        """The response's status code (its body is read and dropped)."""
        reader, writer = (
            self._idle.pop()
            if self._idle
            else await asyncio.open_connection(self._host, self._port)
        )
        writer.write(
            b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (path.encode(), self._host.encode(), len(body), body)
        )
        status = int((await reader.readline()).split()[1])
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await reader.readexactly(length)
        self._idle.append((reader, writer))
        return status

    async def aclose(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()


def argon2_cpu_ms(settings: IdentitySettings, threads: int, rounds: int = 10) -> float:
    """CPU milliseconds of one argon2id verification with the service's parameters, with
    `threads` verifying at once as in the ceiling (they share the CPU caches)."""
    hasher = PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
        type=Type.ID,
    )
    stored = hasher.hash(TEST_PASSWORD)

    def work() -> float:
        start = time.thread_time()
        for _ in range(rounds):
            hasher.verify(stored, TEST_PASSWORD)
        return time.thread_time() - start

    with ThreadPoolExecutor(threads) as pool:
        spent = sum(pool.map(lambda _: work(), range(threads)))
    return spent * 1000 / (rounds * threads)


def start_profilers(directory: Path, service: ServiceProcess) -> list[subprocess.Popen[bytes]]:
    """py-spy on the identity process and on this benchmark's own client (collapsed stacks,
    idle frames left out): where the CPU of the measured logins goes."""
    directory.mkdir(parents=True, exist_ok=True)
    py_spy = Path(sys.executable).parent / "py-spy"
    assert service.process is not None
    targets = {"identity": service.process.pid, "client": os.getpid()}
    return [
        subprocess.Popen(
            [
                str(py_spy),
                "record",
                "--pid",
                str(pid),
                "--format",
                "raw",
                "--rate",
                "200",
                "--threads",
                "--gil",  # only samples holding the GIL: the Python CPU (argon2 releases it)
                "--output",
                str(directory / f"{name}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, pid in targets.items()
    ]


def stop_profilers(profilers: list[subprocess.Popen[bytes]]) -> None:
    for profiler in profilers:
        profiler.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
    for profiler in profilers:
        profiler.wait(timeout=30)


async def run(args: argparse.Namespace) -> None:
    infra, broker = bench_infra()
    kafka = infra.kafka
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
            bodies = [
                json.dumps(
                    {"method": "password", "email": email, "password": TEST_PASSWORD}
                ).encode()
                for email in emails
            ]
            logins = KeepAliveClient("127.0.0.1", service.port)

            async def one(i: int) -> None:
                nonlocal failures
                async with gate:
                    start = time.perf_counter()
                    status = await logins.post("/v1/sessions", bodies[i % len(bodies)])
                    latencies.append(time.perf_counter() - start)
                    failures += status != 201

            assert service.process is not None
            # Identity's CPU with nothing to do; before the warm-up, so that no keep-alive
            # connection of the client idles past the server's keep-alive timeout.
            idle_since = cpu_s(service.process.pid), time.perf_counter()
            await asyncio.sleep(args.idle_s)
            idle = (cpu_s(service.process.pid) - idle_since[0]) / (
                time.perf_counter() - idle_since[1]
            )
            await asyncio.gather(*(one(i) for i in range(min(args.concurrency, 8))))  # warm up
            latencies.clear()
            profilers = start_profilers(args.profile, service) if args.profile else []
            assert service.process is not None
            database = f"{scope.prefix}identity"
            pids = {
                "identity": [service.process.pid],
                "postgres": await backend_pids(infra.postgres_dsn, database),
                "broker": [broker.process.pid] if broker is not None else [],
                "client": [os.getpid()],
            }
            meter = CpuMeter.begin(pids)
            main_thread = cpu_s(service.process.pid, service.process.pid)
            started = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(args.logins)))
            elapsed = time.perf_counter() - started
            main_thread = cpu_s(service.process.pid, service.process.pid) - main_thread
            pids["postgres"] = sorted(
                {*pids["postgres"], *await backend_pids(infra.postgres_dsn, database)}
            )
            cpu = meter.used(pids)
            stop_profilers(profilers)
            await logins.aclose()
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
    argon2_ms = argon2_cpu_ms(settings, cores)
    per_login = {name: seconds * 1000 / args.logins for name, seconds in cpu.items()}
    print(
        "CPU per login (ms)        : "
        + "  ".join(f"{name} {ms:.1f}" for name, ms in per_login.items())
        + f"  (one argon2id verify, {cores} threads: {argon2_ms:.1f})"
    )
    loop_ms = main_thread * 1000 / args.logins
    print(
        f"  of identity's           : event loop thread {loop_ms:.1f} (HTTP, Redis, SQL, events,"
        f" tokens), other threads {per_login['identity'] - loop_ms:.1f} (argon2)"
    )
    print(
        f"  identity when idle      : {idle * 1000:.1f} ms CPU per second (consumers' fetches,"
        f" relay, heartbeats): {idle * 1000 / rate:.1f} ms per login at this rate"
    )
    other = sum(per_login.values()) - argon2_ms
    print(
        f"CPU per login besides argon2: {other:5.1f} ms -> at most "
        f"{argon2_ms / (argon2_ms + other):.2f} of the argon2 ceiling on a machine of our own"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="identity password-login benchmark")
    parser.add_argument("--logins", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument(
        "--idle-s", type=float, default=3.0, help="seconds identity is watched idle first"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="directory for py-spy profiles (collapsed stacks) of identity and of the client "
        "during the measured logins (pip install py-spy)",
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
