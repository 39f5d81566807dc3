"""Benchmark: cancellation applications, their completion when they come due, and the erasure.

Not a test. It starts what it needs (the embedded broker unless KAFKA_BOOTSTRAP_SERVERS is
set, a JWKS for identity's dev signing key, a mail and an SMS sink in this process, and
cancellation, verification and the notifier as their own processes in a throw-away
namespace), makes N accounts by publishing AccountRegistered on identity.events, their
channels (AccountContacts, an email and a phone) on identity.contacts and four clear
standings each on the external facts' topics, then:

1. **apply**: N applications over HTTP (`POST /v1/cancellation` with a stepped-up dev token),
   C in flight: applications/s, p50/p99 latency.
2. **completion**: the applications were made with a long cooling-off (COOLING_OFF_S 600, so
   none comes due while the others are being made); the bench then moves every cooling-off
   end (`timers.due_at` and `applications.cooling_off_ends_at`, one UPDATE each in
   cancellation's database) to one moment 2 s ahead, as if all N had been made together.
   The timer worker runs with the service's defaults (TIMER_POLL_INTERVAL_S 1, TIMER_CLAIM_BATCH
   50, flags to change them). Printed: from the due moment to the last completion committed
   and to the last CancellationCompleted on cancellation.events (the record's timestamp),
   completions/s, the timer attempts, and the check that the topic holds exactly one
   CancellationCompleted per application.
3. **erasure fan-out** (`--with-services`, on by default): verification and the notifier
   handle every CancellationCompleted as in production (verification erases its projection of
   the account; the notifier sends the completion notice to the sinks, then its `erasure`
   timer erases and confirms), and cancellation records each confirmation. Per service, p50
   and p99 of "completion committed -> confirmation recorded by cancellation" (the service's
   erasure, its outbox relay and cancellation's consumer), read afterwards from
   cancellation's `erasures.recorded_at` against `applications.ended_at`; cancellation's own
   is written in the completion transaction. Then the time from the due moment until every
   application is `erasure_complete` (all four recorded).

   Identity does not run: its erasure needs accounts registered through it (codes, captcha,
   password), which would make the run several minutes long, and its handler fails on an
   account it does not hold (AccountNotFound). The bench stands in for it: when it sees a
   CancellationCompleted on the topic (it follows the topic), it publishes
   IdentityDataErased for that application as producer `identity`. So identity's row is the
   bench's reaction, not identity's erasure, and `erasure_complete` includes no identity
   work. Without `--with-services` only cancellation's own confirmation is measured.

Flags: --accounts N (300), --concurrency C (16), --claim-batch (TIMER_CLAIM_BATCH),
--poll-interval-s (TIMER_POLL_INTERVAL_S, 1), --no-with-services. A run on the 2-core machine
shared with other engineers' test runs:

    $ .venv/bin/python bench/cancellation_completion.py
    machine: 2 cores, load average 4.19 (shared); N 300, 16 in flight
    apply        300 applications in 4.76 s = 63.0/s; p50 223 ms, p99 602 ms; statuses {201: 300}
    completion   due -> first commit 248 ms, last commit 22,646 ms, last on topic 22,796 ms
                 13.2 completions/s from the due moment, 13.4/s from the first to the last commit
                 applications {'completed': 300}
                 timers 300/300 done in 300 attempts (at most 1 for one)
                 CancellationCompleted on the topic: 300 for 300 applications; one each: yes
    erasure      confirmations recorded by cancellation:
      identity (bench stand-in)    300 confirmed; completion -> recorded p50 285 ms, p99 512 ms
      verification                 300 confirmed; completion -> recorded p50 296 ms, p99 727 ms
      notifier                     300 confirmed; completion -> recorded p50 6,190 ms, p99 9,339 ms
      cancellation                 300 confirmed; completion -> recorded p50 21 ms, p99 92 ms
      erasure_complete             300 complete;  completion -> complete p50 6,190 ms, p99 9,339 ms
      due -> the last application erasure_complete: 25,623 ms
      completion notices at the sinks, sent before the notifier's erasure: 300 emails, 300 SMS
    CPU per application (ms), from the due moment until the bench saw
      the last completion (23.0 s)
        verification 18.9  notifier 30.2  cancellation 24.0  verification pg 2.9
        notifier pg 5.8  cancellation pg 5.2  broker 13.3  bench 7.1
      every erasure_complete (25.7 s)
        verification 19.5  notifier 34.7  cancellation 25.9  verification pg 2.9
        notifier pg 7.0  cancellation pg 5.5  broker 14.8  bench 7.3
      cancellation busy 31% of a core until the last completion

With `--no-with-services` (cancellation alone) the same machine completed 55.3/s (10.4 ms of
cancellation's CPU per completion), 68.6/s with `--claim-batch 300` (8.7 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord

from devkit.broker import free_port
from devkit.cpu import CpuMeter, backend_pids
from devkit.infra import drop_databases
from devkit.mailsink import MailSink
from devkit.smssink import SmsSink
from devkit.testing.facts import clear_standings
from devkit.testing.infra import Scope, bench_infra
from devkit.testing.kafka import read_all
from devkit.testing.services import ServiceProcess
from devkit.testing.tokens import DevTokens, jwks_server
from shared.events import (
    REGISTRY,
    AccountContacts,
    AccountRegistered,
    CancellationCompleted,
    Envelope,
    EventPayload,
    IdentityDataErased,
    LoginMethodKind,
    decode,
    encode,
    headers_of,
    new_envelope,
    owner_of,
)
from shared.kafka import make_producer
from shared.settings import ServiceSettings

COOLING_OFF_S = 600  # none comes due while the others are made; the bench then aligns them
DUE_AHEAD_S = 2.0
SERVICES = ["identity", "verification", "notifier", "cancellation"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


class Publisher:
    """One producer for the bench's own events, as their owners would publish them."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        settings = ServiceSettings(kafka_bootstrap_servers=scope.infra.kafka)
        self.producer: AIOKafkaProducer = make_producer(settings)

    async def __aenter__(self) -> Publisher:
        await self.producer.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.producer.stop()

    async def send(self, payload: EventPayload, account_id: str) -> None:
        producer = "identity" if payload.topic.startswith("identity.") else owner_of(payload.topic)
        envelope = new_envelope(payload, producer=producer, account_id=account_id)
        await self.producer.send(
            self.scope.topic(payload.topic),
            encode(envelope),
            key=account_id.encode(),
            headers=headers_of(envelope),
        )

    async def flush(self) -> None:
        await self.producer.flush()


async def make_accounts(scope: Scope, accounts: list[str]) -> None:
    """Each account's registration, its channels and four clear standings (CAN-2)."""
    now = datetime.now(UTC)
    async with Publisher(scope) as out:
        for n, account in enumerate(accounts):
            contacts = AccountContacts(
                secure_phone=f"+86139{n:08d}",
                secure_email=f"bench-{account}@example.com",
                message_phone=None,
                contact_email=f"bench-{account}@example.com",
                language="en",
            )
            await out.send(contacts, account)
            await out.send(
                AccountRegistered(registered_at=now, method=LoginMethodKind.EMAIL), account
            )
            for fact in clear_standings(now):
                await out.send(fact, account)
        await out.flush()


async def wait_may_apply(client: httpx.AsyncClient, tokens: DevTokens, account: str) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        reply = await client.get("/v1/cancellation/preconditions", headers=tokens.headers(account))
        if reply.status_code == 200 and reply.json()["may_apply"]:
            return
        await asyncio.sleep(0.1)
    raise SystemExit(f"account {account} never reached cancellation with clear standings")


async def apply_all(
    client: httpx.AsyncClient, tokens: DevTokens, accounts: list[str], concurrency: int
) -> tuple[float, list[float], Counter[int]]:
    """(seconds, latencies, status codes) of the applications, `concurrency` in flight."""
    headers = {account: tokens.headers(account, step_up=True) for account in accounts}
    queue: asyncio.Queue[str] = asyncio.Queue()
    for account in accounts:
        queue.put_nowait(account)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()

    async def worker() -> None:
        while not queue.empty():
            account = queue.get_nowait()
            started = time.perf_counter()
            reply = await client.post("/v1/cancellation", headers=headers[account])
            latencies.append(time.perf_counter() - started)
            statuses[reply.status_code] += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies, statuses


async def align_due(conn: asyncpg.Connection, ahead_s: float) -> datetime:
    """Every scheduled cooling-off end due at one moment `ahead_s` from now; that moment."""
    due = datetime.now(UTC) + timedelta(seconds=ahead_s)
    async with conn.transaction():
        moved = await conn.execute(
            "UPDATE timers SET due_at = $1 WHERE kind = 'cooling_off_end' AND state = 'scheduled'",
            due,
        )
        await conn.execute(
            "UPDATE applications SET cooling_off_ends_at = $1 WHERE state = 'cooling_off'", due
        )
    print(f"cooling-off ends moved to {due:%H:%M:%S.%f} ({moved.split()[-1]} timers)")
    return due


@dataclass
class Completions:
    """CancellationCompleted seen on the topic: application id -> record timestamps (ms)."""

    seen: dict[str, list[int]]

    def add(self, record: ConsumerRecord[bytes, bytes]) -> Envelope[Any] | None:
        """The record's CancellationCompleted, if it holds one, now counted."""
        if record.value is None:
            return None
        event: Envelope[Any] = decode(record.value, REGISTRY)
        if not isinstance(event.payload, CancellationCompleted):
            return None
        self.seen.setdefault(event.payload.application_id, []).append(record.timestamp)
        return event


async def watch_completions(
    scope: Scope, expected: int, stand_in: Publisher | None, timeout_s: float
) -> Completions:
    """Follow cancellation.events from its start until `expected` applications completed
    (one consumer, no group); as identity's stand-in, confirm each one as it is seen."""
    topic = scope.topic("cancellation.events")
    consumer = AIOKafkaConsumer(bootstrap_servers=scope.infra.kafka, enable_auto_commit=False)
    await consumer.start()
    completions = Completions({})
    deadline = time.monotonic() + timeout_s
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        while len(completions.seen) < expected:
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"only {len(completions.seen)} of {expected} completions in {timeout_s} s"
                )
            batches = await consumer.getmany(*tps, timeout_ms=200)
            for record in (r for batch in batches.values() for r in batch):
                event = completions.add(record)
                if event is not None and stand_in is not None:
                    await stand_in.send(
                        IdentityDataErased(
                            service="identity",
                            application_id=event.payload.application_id,
                            erased_at=datetime.now(UTC),
                            kept=[],
                        ),
                        event.account_id,
                    )
            if stand_in is not None:
                await stand_in.flush()
    finally:
        await consumer.stop()
    return completions


async def all_completions(scope: Scope) -> Completions:
    """Every CancellationCompleted on the topic now."""
    completions = Completions({})
    for record in await read_all(scope.infra.kafka, scope.topic("cancellation.events")):
        completions.add(record)
    return completions


async def wait_erasure_complete(
    conn: asyncpg.Connection, services: int, expected: int, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        done = await conn.fetchval(
            "SELECT count(*) FROM (SELECT application_id FROM erasures GROUP BY application_id "
            "HAVING count(*) >= $1) c",
            services,
        )
        if done >= expected:
            return
        if time.monotonic() > deadline:
            raise SystemExit(
                f"only {done} of {expected} applications fully erased in {timeout_s} s"
            )
        await asyncio.sleep(0.2)


def report_apply(seconds: float, latencies: list[float], statuses: Counter[int]) -> None:
    print(
        f"apply        {len(latencies)} applications in {seconds:.2f} s = "
        f"{len(latencies) / seconds:,.1f}/s; p50 {ms(statistics.median(latencies))}, "
        f"p99 {ms(percentile(latencies, 0.99))}; statuses {dict(statuses)}"
    )


async def report_completion(
    conn: asyncpg.Connection, due: datetime, completions: Completions, applied: set[str]
) -> None:
    rows = await conn.fetch(
        "SELECT application_id, state, ended_at FROM applications WHERE application_id = ANY($1)",
        list(applied),
    )
    states = Counter(r["state"] for r in rows)
    last_commit = max(r["ended_at"] for r in rows if r["ended_at"] is not None)
    first_commit = min(r["ended_at"] for r in rows if r["ended_at"] is not None)
    stamps = [t for ts in completions.seen.values() for t in ts]
    last_on_topic = datetime.fromtimestamp(max(stamps) / 1000, UTC)
    n = len(applied)
    window = (last_on_topic - due).total_seconds()
    timers = await conn.fetchrow(
        "SELECT count(*) AS n, count(*) FILTER (WHERE state = 'done') AS done, "
        "sum(attempts) AS attempts, max(attempts) AS most "
        "FROM timers WHERE kind = 'cooling_off_end'"
    )
    twice = {a: len(ts) for a, ts in completions.seen.items() if len(ts) > 1}
    print(
        f"completion   due -> first commit {ms((first_commit - due).total_seconds())}, "
        f"last commit {ms((last_commit - due).total_seconds())}, last on topic {ms(window)}"
    )
    firing = (last_commit - first_commit).total_seconds()
    print(
        f"             {n / window:,.1f} completions/s from the due moment, "
        f"{n / firing:,.1f}/s from the first to the last commit"
    )
    print(f"             applications {dict(states)}")
    print(
        f"             timers {timers['done']}/{timers['n']} done in {timers['attempts']} "
        f"attempts (at most {timers['most']} for one)"
    )
    exact = set(completions.seen) == applied and not twice
    print(
        f"             CancellationCompleted on the topic: {len(stamps)} for "
        f"{len(completions.seen)} applications;"
        f" one each: {'yes' if exact else 'NO'}" + (f" (twice: {twice})" if twice else "")
    )


async def report_erasure(
    conn: asyncpg.Connection, due: datetime, services: list[str], applied: set[str]
) -> None:
    rows = await conn.fetch(
        "SELECT e.application_id, e.service, e.recorded_at, a.ended_at "
        "FROM erasures e JOIN applications a USING (application_id) "
        "WHERE e.application_id = ANY($1)",
        list(applied),
    )
    for service in services:
        lags = [
            (r["recorded_at"] - r["ended_at"]).total_seconds()
            for r in rows
            if r["service"] == service
        ]
        label = f"{service} (bench stand-in)" if service == "identity" else service
        print(
            f"  {label:<26} {len(lags):>5} confirmed; completion -> recorded "
            f"p50 {ms(statistics.median(lags))}, p99 {ms(percentile(lags, 0.99))}"
        )
    complete: dict[str, datetime] = {}
    ended: dict[str, datetime] = {}
    for r in rows:
        complete[r["application_id"]] = max(
            complete.get(r["application_id"], r["recorded_at"]), r["recorded_at"]
        )
        ended[r["application_id"]] = r["ended_at"]
    each = [(complete[a] - ended[a]).total_seconds() for a in complete]
    last = max(complete.values())
    print(
        f"  erasure_complete           {len(complete):>5} complete;  completion -> complete "
        f"p50 {ms(statistics.median(each))}, p99 {ms(percentile(each, 0.99))}"
    )
    print(f"  due -> the last application erasure_complete: {ms((last - due).total_seconds())}")


def pid_of(proc: ServiceProcess) -> int:
    assert proc.process is not None
    return proc.process.pid


def cpu_line(used: dict[str, float], n: int) -> str:
    """The groups' CPU per application, four to a line."""
    items = [f"{name} {seconds * 1000 / n:.1f}" for name, seconds in used.items()]
    return "\n".join("    " + "  ".join(items[i : i + 4]) for i in range(0, len(items), 4))


async def run(args: argparse.Namespace) -> None:
    infra, broker = bench_infra()
    scope = infra.scope()
    tokens = DevTokens(ttl_s=3600)
    log_dir = Path(tempfile.mkdtemp(prefix="cancellation-bench-"))
    stack = contextlib.ExitStack()
    timer_env = {"TIMER_POLL_INTERVAL_S": args.poll_interval_s}
    if args.claim_batch is not None:
        timer_env["TIMER_CLAIM_BATCH"] = args.claim_batch
    env = scope.env(
        IDENTITY_JWKS_URL=stack.enter_context(jwks_server(tokens)),
        LOG_LEVEL="WARNING",
        COOLING_OFF_S=COOLING_OFF_S,
        **timer_env,
    )
    procs: dict[str, ServiceProcess] = {}
    mail: MailSink | None = None
    sms: SmsSink | None = None
    if args.with_services:
        mail = MailSink(free_port())
        mail.start()
        stack.callback(mail.stop)
        sms = SmsSink().start()
        stack.callback(sms.stop)
        env |= {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mail.port), "SMS_API_URL": sms.url}
        procs = {name: ServiceProcess(name, env, log_dir) for name in ("verification", "notifier")}
    procs["cancellation"] = ServiceProcess("cancellation", env, log_dir)
    db = None
    try:
        for proc in procs.values():
            proc.start()
        for proc in procs.values():
            proc.wait_ready(120)
        print(
            f"services: {', '.join(procs)} (TIMER_POLL_INTERVAL_S {args.poll_interval_s}, "
            f"TIMER_CLAIM_BATCH {args.claim_batch or 'default 50'}); logs in {log_dir}"
        )
        n = args.accounts
        base = 840_000_000_000 + int(time.time()) % 1_000_000 * 1000
        accounts = [str(base + i) for i in range(n)]
        await make_accounts(scope, accounts)
        limits = httpx.Limits(max_connections=args.concurrency)
        url = procs["cancellation"].url
        async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
            for account in accounts:
                await wait_may_apply(client, tokens, account)
            seconds, latencies, statuses = await apply_all(
                client, tokens, accounts, args.concurrency
            )
        if statuses != Counter({201: n}):
            raise SystemExit(f"applications refused: {dict(statuses)}")
        db = await asyncpg.connect(f"{infra.postgres_dsn}/{scope.prefix}cancellation")
        applied = {
            r["application_id"] for r in await db.fetch("SELECT application_id FROM applications")
        }

        async def processes() -> dict[str, list[int]]:
            groups = {name: [pid_of(proc)] for name, proc in procs.items()}
            for name in procs:
                groups[f"{name} pg"] = await backend_pids(
                    infra.postgres_dsn, f"{scope.prefix}{name}"
                )
            groups["broker"] = [broker.process.pid] if broker is not None else []
            groups["bench"] = [os.getpid()]  # the HTTP client, the sinks, the stand-in
            return groups

        due = await align_due(db, DUE_AHEAD_S)
        meter = CpuMeter.begin(await processes())
        async with contextlib.AsyncExitStack() as stand_ins:
            stand_in = (
                await stand_ins.enter_async_context(Publisher(scope))
                if args.with_services
                else None
            )
            completions = await watch_completions(scope, n, stand_in, args.timeout_s)
            completion_cpu = meter.used(await processes())
            completion_s = (datetime.now(UTC) - due).total_seconds()
            services = SERVICES if args.with_services else ["cancellation"]
            await wait_erasure_complete(db, len(services), n, args.timeout_s)
            erasure_cpu = meter.used(await processes())
            erasure_s = (datetime.now(UTC) - due).total_seconds()
        # Read the topic once more after the erasures: a completion published twice, late,
        # would show now.
        completions = await all_completions(scope)

        print()
        print(
            f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} (shared); "
            f"N {n}, {args.concurrency} in flight"
        )
        report_apply(seconds, latencies, statuses)
        await report_completion(db, due, completions, applied)
        print("erasure      confirmations recorded by cancellation:")
        await report_erasure(db, due, services, applied)
        if mail is not None and sms is not None:
            mails = [m for m in mail.snapshot() if "cancelled" in m.subject.lower()]
            texts = [
                t for t in sms.snapshot() if t.template_id.startswith("cancellation_completed")
            ]
            print(
                f"  completion notices at the sinks, sent before the notifier's erasure: "
                f"{len(mails)} emails, {len(texts)} SMS"
            )
        print("CPU per application (ms), from the due moment until the bench saw")
        print(f"  the last completion ({completion_s:.1f} s)")
        print(cpu_line(completion_cpu, n))
        print(f"  every erasure_complete ({erasure_s:.1f} s)")
        print(cpu_line(erasure_cpu, n))
        busy = completion_cpu["cancellation"] / completion_s
        print(f"  cancellation busy {busy:.0%} of a core until the last completion")
    finally:
        if db is not None:
            await db.close()
        for proc in procs.values():
            proc.stop()
        stack.close()
        if broker is not None:
            broker.stop()
        await drop_databases(infra.postgres_dsn, scope.prefix)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--claim-batch", type=int, default=None, help="TIMER_CLAIM_BATCH")
    parser.add_argument("--poll-interval-s", type=float, default=1.0, help="TIMER_POLL_INTERVAL_S")
    parser.add_argument("--timeout-s", type=float, default=300.0)
    parser.add_argument(
        "--with-services",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="verification and the notifier as processes too (erasure fan-out)",
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
