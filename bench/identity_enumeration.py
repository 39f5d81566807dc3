"""Benchmark: how long identity takes to answer for a real account and for an unknown email.

Not a test (the tests compare the work both branches do, never their timings). It starts the
embedded broker (unless KAFKA_BOOTSTRAP_SERVERS is set) and identity as its own process with
the production argon2 parameters, registers two accounts, then measures, request by request
and alternating real and unknown, the three branches the security review timed: a wrong
password, a password while locked, and a password-reset request. Prints the median of each
run for both, and their difference.

    .venv/bin/python bench/identity_enumeration.py --requests 20 --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from devkit.testing.accounts import UNLIMITED_CODES, register_by_email
from devkit.testing.infra import bench_infra
from devkit.testing.services import ServiceProcess

WRONG = "Wrong1!pass"
LOCK_AFTER = 5


async def timed(client: httpx.AsyncClient, path: str, body: dict[str, str]) -> float:
    start = time.perf_counter()
    await client.post(path, json=body)
    return (time.perf_counter() - start) * 1000


async def medians(
    client: httpx.AsyncClient,
    path: str,
    bodies: tuple[dict[str, str], dict[str, str]],
    requests: int,
) -> tuple[float, float]:
    """Median ms for the real and the unknown body, requests alternating between them."""
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(requests):
        for side, body in enumerate(bodies):
            samples[side].append(await timed(client, path, body))
    return statistics.median(samples[0]), statistics.median(samples[1])


async def run(args: argparse.Namespace) -> None:
    infra, broker = bench_infra()
    kafka = infra.kafka
    scope = infra.scope()
    env = scope.env(
        LOG_LEVEL="WARNING",
        DEV_MODE="true",  # the dev captcha route: /v1/codes needs a solved captcha
        LOGIN_CAPTCHA_AFTER=100000,
        LOGIN_IP_FAILURES=100000,
        LOGIN_LOCK_AFTER=LOCK_AFTER,
        **{k.upper(): v for k, v in UNLIMITED_CODES.items()},
    )
    service = ServiceProcess("identity", env, Path(tempfile.mkdtemp()))
    service.start().wait_ready(90)
    tag = uuid.uuid4().hex[:6]
    emails = {"wrong": f"wrong-{tag}@example.com", "locked": f"locked-{tag}@example.com"}
    rows: list[tuple[str, float, float]] = []
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=60) as client:
            for i, email in enumerate(emails.values()):
                reply = await register_by_email(
                    client,
                    kafka=kafka,
                    topic_prefix=scope.prefix,
                    email=email,
                    phone=f"+86136{i:08d}",
                )
                assert reply.status_code == 201, reply.text
            locked = emails["locked"], f"nobody-locked-{tag}@example.com"
            for email in locked:  # lock both: LOCK_AFTER wrong passwords each
                for _ in range(LOCK_AFTER):
                    await client.post(
                        "/v1/sessions",
                        json={"method": "password", "email": email, "password": WRONG},
                    )
            for run_number in range(1, args.runs + 1):
                # A run's wrong passwords must not lock: new unknown email and a success between.
                known = emails["wrong"]
                unknown = f"nobody-{run_number}-{tag}@example.com"
                wrong = [
                    {"method": "password", "email": e, "password": WRONG} for e in (known, unknown)
                ]
                real_ms: list[float] = []
                unknown_ms: list[float] = []
                for start in range(0, args.requests, LOCK_AFTER - 1):
                    batch = min(LOCK_AFTER - 1, args.requests - start)
                    for _ in range(batch):
                        for side, body in enumerate(wrong):
                            ms = await timed(client, "/v1/sessions", body)
                            (real_ms, unknown_ms)[side].append(ms)
                    # A success ends the known email's run; the unknown one gets a fresh email.
                    await client.post(
                        "/v1/sessions",
                        json={"method": "password", "email": known, "password": "Secr3t!pass"},
                    )
                    unknown = f"nobody-{run_number}-{start}-{tag}@example.com"
                    wrong[1] = {"method": "password", "email": unknown, "password": WRONG}
                rows.append(
                    (
                        f"wrong password, run {run_number}",
                        statistics.median(real_ms),
                        statistics.median(unknown_ms),
                    )
                )
                while_locked = (
                    {"method": "password", "email": locked[0], "password": "Secr3t!pass"},
                    {"method": "password", "email": locked[1], "password": "Secr3t!pass"},
                )
                rows.append(
                    (
                        f"while locked,   run {run_number}",
                        *await medians(client, "/v1/sessions", while_locked, args.requests),
                    )
                )
                resets = (
                    {"email": known, "channel": "sms"},
                    {"email": f"nobody-reset-{tag}@example.com", "channel": "sms"},
                )
                rows.append(
                    (
                        f"reset request,  run {run_number}",
                        *await medians(client, "/v1/password-resets", resets, args.requests),
                    )
                )
    finally:
        service.stop()
        if broker is not None:
            broker.stop()
    print(f"median of {args.requests} requests each, real vs unknown email (ms), sequential")
    for name, real, nobody in rows:
        print(f"{name}: real {real:7.2f}   unknown {nobody:7.2f}   diff {real - nobody:+6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description="identity enumeration timing benchmark")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
