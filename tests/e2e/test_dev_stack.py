"""`make dev` (account-center-dev): everything up, the welcome email delivered, Ctrl-C stops all."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import httpx
import pytest

from devkit.broker import free_port
from devkit.testing.accounts import register_by_email
from devkit.testing.codes import code_sent_to
from devkit.testing.infra import FAST, Scope
from devkit.testing.waiting import eventually

pytestmark = pytest.mark.e2e


def free_block(size: int) -> int:
    """A base port whose next `size` ports are free."""
    for _ in range(50):
        base = free_port()
        if base + size >= 65535:
            continue
        try:
            for offset in range(1, size + 1):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", base + offset))
        except OSError:
            continue
        return base
    raise RuntimeError("no free port block")


async def test_the_dev_stack_starts_everything_delivers_the_welcome_email_and_stops_cleanly(
    scope: Scope, tmp_path: Path
) -> None:
    """NOT-5 in `make dev`: after a registration the welcome email is in the mail sink, and a
    one-time code asked for with account-center-notify is in the SMS sink."""
    base, kafka_port, smtp, mail_http = free_block(4), free_port(), free_port(), free_port()
    sms_port = free_port()
    while sms_port in {*range(base, base + 5), kafka_port, smtp, mail_http}:
        sms_port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    env.update(
        DEV_HTTP_PORT_BASE=str(base),
        DEV_KAFKA_PORT=str(kafka_port),
        DEV_SMTP_PORT=str(smtp),
        DEV_MAIL_HTTP_PORT=str(mail_http),
        DEV_SMS_PORT=str(sms_port),
        DEV_STATE_DIR=str(tmp_path / "state"),
        DATABASE_PREFIX=scope.prefix,
        ARGON2_TIME_COST="1",
        ARGON2_MEMORY_KIB="1024",
        REDIS_KEY_PREFIX=scope.prefix,
        **{k.upper(): str(v) for k, v in FAST.items()},
    )
    command = Path(sys.executable).parent / "account-center-dev"
    # A plain Popen read by a thread: the stack runs on its own, the test only watches.
    proc = subprocess.Popen(  # noqa: ASYNC220
        [str(command)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    lines: list[str] = []
    assert proc.stdout is not None
    stdout = proc.stdout
    reader = threading.Thread(
        target=lambda: lines.extend(line.decode(errors="replace") for line in stdout),
        daemon=True,
    )
    reader.start()
    try:

        async def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError("dev stack exited:\n" + "".join(lines[-40:]))
            return any("all four services ready" in line for line in lines)

        await eventually(ready, timeout_s=120, what="the dev stack ready")
        assert any(f"http://127.0.0.1:{base + 1}/docs" in line for line in lines)
        assert any(line.startswith("[notifier") for line in lines)  # prefixed log lines

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{base + 1}") as client:
            # The dev broker has no topic prefix: codes are read from notifier.requests.
            reply = await register_by_email(
                client,
                kafka=f"127.0.0.1:{kafka_port}",
                topic_prefix="",
                email="fay@example.com",
                phone="+8613900000401",
            )
        assert reply.status_code == 201

        def inbox() -> list[dict[str, object]]:
            with urllib.request.urlopen(f"http://127.0.0.1:{mail_http}/", timeout=2) as r:
                return list(json.loads(r.read()))

        async def welcomed() -> list[dict[str, object]]:
            return [
                m
                for m in await asyncio.to_thread(inbox)
                if m["to"] == ["fay@example.com"] and m["subject"] == "欢迎使用账号中心"
            ]

        (mail,) = await eventually(welcomed, what="the welcome email in the sink")
        assert mail["subject"] == "欢迎使用账号中心"
        assert list((tmp_path / "state" / "mail").glob("*.eml"))
        assert any(f"http://127.0.0.1:{sms_port}/messages" in line for line in lines)

        def texts() -> list[dict[str, object]]:
            with urllib.request.urlopen(f"http://127.0.0.1:{sms_port}/messages", timeout=2) as r:
                return list(json.loads(r.read()))

        async def coded() -> list[dict[str, object]]:
            return [
                m for m in await asyncio.to_thread(texts) if m["phone_number"] == "+8613900000401"
            ]

        # The registration's SMS code reached the SMS sink (the code registration used).
        (sms,) = await eventually(coded, what="the SMS code in the SMS sink")
        sent = await code_sent_to(f"127.0.0.1:{kafka_port}", "", "+8613900000401", "register")
        assert sent in str(sms["content"])
        assert sms["template_id"] == "verification_code.zh-CN"
        assert (tmp_path / "state" / "sms" / "messages.jsonl").exists()
    finally:
        proc.send_signal(signal.SIGINT)
        code = await asyncio.to_thread(proc.wait, 60)
        reader.join(timeout=5)
    assert code == 0, "".join(lines[-40:])
    assert any("[dev] stopped" in line for line in lines)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the broker process is gone with the stack
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", kafka_port)) != 0:
                break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the embedded broker still listens after Ctrl-C")
