"""Benchmark: personal real-name verifications over HTTP and events, with the quota under load.

Not a test. It starts what it needs (the embedded broker unless KAFKA_BOOTSTRAP_SERVERS is
set, a JWKS for identity's dev signing key, and verification as its own process in dev mode
with the fake provider answering at once), makes accounts by publishing AccountRegistered on
identity.events, then:

1. **distinct**: N verifications, each of its own identity, C in flight: verifications/s over
   HTTP, p50/p99 latency, and the rate "through events": until the last RealNameVerified of
   the run is on verification.events (the outbox relay's share).
2. **contended**: G identities, 10 accounts each, all 10*G submissions at once (C in flight):
   the same figures, and the check that each identity verified exactly 3 accounts (RN-3).

    .venv/bin/python bench/verification_submit.py --verifications 300 --concurrency 16
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx

from devkit.testing.infra import bench_infra
from devkit.testing.kafka import read_all
from devkit.testing.people import random_resident_id
from devkit.testing.services import ServiceProcess
from devkit.testing.tokens import DevTokens, jwks_server
from shared.events import (
    REGISTRY,
    AccountRegistered,
    LoginMethodKind,
    decode,
    encode,
    headers_of,
    new_envelope,
)
from shared.kafka import make_producer
from shared.settings import ServiceSettings

ACCOUNTS_PER_IDENTITY = 10


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def register(kafka: str, topic: str, ids: list[str]) -> None:
    settings = ServiceSettings(kafka_bootstrap_servers=kafka)
    producer = make_producer(settings)
    await producer.start()
    try:
        for account_id in ids:
            envelope = new_envelope(
                AccountRegistered(registered_at=datetime.now(UTC), method=LoginMethodKind.EMAIL),
                producer="identity",
                account_id=account_id,
            )
            await producer.send(
                topic, encode(envelope), key=account_id.encode(), headers=headers_of(envelope)
            )
        await producer.flush()
    finally:
        await producer.stop()


async def known(client: httpx.AsyncClient, tokens: DevTokens, account_id: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        reply = await client.get("/v1/real-name", headers=tokens.headers(account_id))
        if reply.status_code == 200:
            return
        await asyncio.sleep(0.05)
    raise SystemExit(f"account {account_id} never reached verification")


async def verified_events(kafka: str, topic: str, ids: set[str], since: float) -> float:
    """Seconds from `since` until every account's RealNameVerified is on the topic."""
    while True:
        records = await read_all(kafka, topic)
        seen = {
            event.account_id
            for event in (decode(r.value, REGISTRY) for r in records if r.value is not None)
            if event.type == "RealNameVerified"
        }
        if ids <= seen:
            return time.perf_counter() - since
        await asyncio.sleep(0.05)


async def submit_all(
    client: httpx.AsyncClient, tokens: DevTokens, work: list[tuple[str, str]], concurrency: int
) -> tuple[float, list[float], Counter[int]]:
    """(seconds, latencies, status codes) of all the submissions, `concurrency` in flight."""
    headers = {account: tokens.headers(account, step_up=True) for account, _ in work}
    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    for item in work:
        queue.put_nowait(item)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()

    async def worker() -> None:
        while not queue.empty():
            account, number = queue.get_nowait()
            started = time.perf_counter()
            reply = await client.post(
                "/v1/real-name/personal",
                json={"method": "face", "name": "张三", "document_number": number},
                headers=headers[account],
            )
            latencies.append(time.perf_counter() - started)
            statuses[reply.status_code] += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies, statuses


def report(name: str, seconds: float, latencies: list[float], statuses: Counter[int]) -> None:
    print(
        f"{name}: {len(latencies)} submissions in {seconds:.2f} s = "
        f"{len(latencies) / seconds:.1f}/s; p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms; statuses {dict(statuses)}"
    )


async def run(args: argparse.Namespace) -> None:
    infra, broker = bench_infra()
    kafka = infra.kafka
    scope = infra.scope()
    tokens = DevTokens(ttl_s=3600)
    stack = contextlib.ExitStack()
    env = scope.env(IDENTITY_JWKS_URL=stack.enter_context(jwks_server(tokens)), LOG_LEVEL="WARNING")
    service = ServiceProcess("verification", env, Path(tempfile.mkdtemp()))
    service.start().wait_ready(90)
    base = 700_000_000_000 + int(time.time()) % 1_000_000 * 1000
    distinct = [str(base + i) for i in range(args.verifications)]
    contended = [
        str(base + args.verifications + i) for i in range(args.identities * ACCOUNTS_PER_IDENTITY)
    ]
    try:
        await register(kafka, scope.topic("identity.events"), distinct + contended)
        limits = httpx.Limits(max_connections=args.concurrency)
        async with httpx.AsyncClient(base_url=service.url, timeout=60, limits=limits) as client:
            for account in distinct + contended:
                await known(client, tokens, account)
            topic = scope.topic("verification.events")

            started = time.perf_counter()
            work = [(account, random_resident_id()) for account in distinct]
            seconds, latencies, statuses = await submit_all(client, tokens, work, args.concurrency)
            report("distinct", seconds, latencies, statuses)
            through = await verified_events(kafka, topic, set(distinct), started)
            print(
                f"distinct through events: last RealNameVerified {through:.2f} s after the "
                f"first submission = {len(distinct) / through:.1f} verifications/s"
            )

            numbers = [random_resident_id() for _ in range(args.identities)]
            work = [
                (account, numbers[i // ACCOUNTS_PER_IDENTITY])
                for i, account in enumerate(contended)
            ]
            seconds, latencies, statuses = await submit_all(client, tokens, work, args.concurrency)
            report("contended (10 accounts per identity)", seconds, latencies, statuses)
            expected = 3 * args.identities
            assert statuses[201] == expected, f"RN-3 broken: {statuses[201]} != {expected}"
            print(f"contended: exactly 3 verified per identity ({expected} of {len(work)})")
    finally:
        service.stop()
        stack.close()
        if broker is not None:
            broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--verifications", type=int, default=300)
    parser.add_argument("--identities", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=16)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
