"""`make dev`: the whole account center on this machine, in one terminal.

Starts the embedded broker (unless KAFKA_BOOTSTRAP_SERVERS names one), checks Redis and
PostgreSQL (starting them when installed but stopped), starts the mail and SMS sinks and the
four services, prefixes each log line with its service, and stops everything on Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
import urllib.request
from pathlib import Path

from devkit.broker import EmbeddedBroker, start_embedded_broker
from devkit.infra import MissingDependency, ensure_postgres, ensure_redis
from devkit.mailsink import MailSink, serve_http
from devkit.smssink import SmsSink

_BASE = int(os.environ.get("DEV_HTTP_PORT_BASE", "8000"))
SERVICES = {
    "identity": _BASE + 1,
    "verification": _BASE + 2,
    "cancellation": _BASE + 3,
    "notifier": _BASE + 4,
}
SMTP_PORT = int(os.environ.get("DEV_SMTP_PORT", "1025"))
MAIL_HTTP_PORT = int(os.environ.get("DEV_MAIL_HTTP_PORT", "8025"))
SMS_PORT = int(os.environ.get("DEV_SMS_PORT", "8026"))
# Dev only: the operator endpoints (notifier, identity) take this token without OPERATOR_TOKEN.
DEV_OPERATOR_TOKEN = "dev-operator-token"
KAFKA_PORT = int(os.environ.get("DEV_KAFKA_PORT", "9092"))
STATE = Path(os.environ.get("DEV_STATE_DIR", ".dev"))


def say(line: str) -> None:
    print(f"[dev] {line}", flush=True)


async def pump(name: str, stream: asyncio.StreamReader) -> None:
    width = max(len(n) for n in SERVICES)
    while line := await stream.readline():
        sys.stdout.write(f"[{name:<{width}}] {line.decode(errors='replace')}")
        sys.stdout.flush()


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
            return bool(r.status == 200)
    except OSError:
        return False


async def wait_ready(timeout_s: float = 90.0) -> list[str]:
    deadline = time.monotonic() + timeout_s
    pending = dict(SERVICES)
    while pending and time.monotonic() < deadline:
        for name, port in list(pending.items()):
            if await asyncio.to_thread(ready, port):
                del pending[name]
        await asyncio.sleep(0.3)
    return list(pending)


async def run() -> int:
    broker: EmbeddedBroker | None = None
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    try:
        say(ensure_redis(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")))
        say(ensure_postgres(os.environ.get("POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432")))
    except MissingDependency as exc:
        say(f"cannot start: {exc}")
        return 1
    if bootstrap:
        say(f"Kafka: using {bootstrap} (KAFKA_BOOTSTRAP_SERVERS)")
    else:
        broker = start_embedded_broker(KAFKA_PORT)
        bootstrap = broker.bootstrap_servers
        say(f"Kafka: embedded Tansu broker on {bootstrap} (memory only)")
    sink = MailSink(SMTP_PORT, directory=STATE / "mail")
    sink.start()
    http = serve_http(sink, MAIL_HTTP_PORT)
    say(
        f"mail sink: SMTP 127.0.0.1:{SMTP_PORT}; messages at http://127.0.0.1:{MAIL_HTTP_PORT}/ "
        f"and as .eml files in {STATE / 'mail'}"
    )
    sms = SmsSink(SMS_PORT, directory=STATE / "sms").start()
    say(
        f"SMS sink: API {sms.url}; messages at http://127.0.0.1:{SMS_PORT}/messages "
        f"and in {STATE / 'sms' / 'messages.jsonl'}"
    )
    operator_token = os.environ.get("OPERATOR_TOKEN") or DEV_OPERATOR_TOKEN

    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(SMTP_PORT),
        "SMS_API_URL": sms.url,
        "OPERATOR_TOKEN": operator_token,
        "PYTHONUNBUFFERED": "1",
        "IDENTITY_JWKS_URL": f"http://127.0.0.1:{SERVICES['identity']}/.well-known/jwks.json",
        # The fake identity and captcha providers mint assertions and tickets in dev.
        "DEV_MODE": os.environ.get("DEV_MODE", "true"),
        # account-center-notify asks the notifier for codes as `devtools` (dev only).
        "TRUSTED_PRODUCERS": os.environ.get("TRUSTED_PRODUCERS", "identity,devtools"),
        # A walk-through sends several codes to one phone within a minute.
        "CODE_PER_MINUTE": os.environ.get("CODE_PER_MINUTE", "10"),
    }
    procs: dict[str, asyncio.subprocess.Process] = {}
    pumps = []
    for name, port in SERVICES.items():
        proc = await asyncio.create_subprocess_exec(
            Path(sys.executable).parent / f"{name}-service",
            env={**env, "HTTP_PORT": str(port)},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        procs[name] = proc
        assert proc.stdout is not None
        pumps.append(asyncio.create_task(pump(name, proc.stdout)))

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    started = time.monotonic()
    late = await wait_ready()
    if late:
        say(f"not ready after 90 s: {', '.join(late)} (see their log lines above)")
    else:
        say(f"all four services ready in {time.monotonic() - started:.1f} s:")
        for name, port in SERVICES.items():
            say(
                f"  {name:<13} http://127.0.0.1:{port}  API docs http://127.0.0.1:{port}/docs"
                f"  AsyncAPI http://127.0.0.1:{port}/asyncapi"
            )
        if operator_token == DEV_OPERATOR_TOKEN:
            say(f"  operator endpoints (dev only): Authorization: Bearer {DEV_OPERATOR_TOKEN}")
        say("Ctrl-C stops everything.")

    waiters = [asyncio.create_task(p.wait()) for p in procs.values()]
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait([stopper, *waiters], return_when=asyncio.FIRST_COMPLETED)
    for name, proc in procs.items():
        if proc.returncode is None:
            proc.terminate()
        else:
            say(f"{name} exited with {proc.returncode}")
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*waiters), 25)
    for proc in procs.values():
        if proc.returncode is None:
            proc.kill()
    await asyncio.gather(*pumps, return_exceptions=True)
    http.shutdown()
    sink.stop()
    sms.stop()
    if broker is not None:
        broker.stop()
    say("stopped")
    return 0 if stop.is_set() else 1


def main() -> None:
    sys.exit(asyncio.run(run()))
