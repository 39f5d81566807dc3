"""The four services as separate OS processes over the embedded broker and a real SMTP sink."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from devkit.mailsink import MailSink
from devkit.smssink import SmsSink
from devkit.testing.accounts import register_by_email
from devkit.testing.infra import Scope
from devkit.testing.kafka import read_all
from devkit.testing.services import service_processes
from devkit.testing.waiting import eventually
from shared.events import REGISTRY, Envelope, NotificationSent, decode

pytestmark = pytest.mark.e2e

ALL = ["identity", "verification", "cancellation", "notifier"]


async def test_registering_over_http_reaches_every_service_and_sends_the_welcome_email(
    scope: Scope, sink: MailSink, sms: SmsSink, tmp_path: Path
) -> None:
    env = scope.env(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=sink.port,
        SMS_API_URL=sms.url,
        ARGON2_TIME_COST=1,
        ARGON2_MEMORY_KIB=1024,
        DEV_MODE="true",  # the dev captcha route: /v1/codes needs a solved captcha
    )
    with service_processes(ALL, env, tmp_path) as procs:
        async with httpx.AsyncClient(base_url=procs["identity"].url) as client:
            reply = await register_by_email(
                client,
                kafka=scope.infra.kafka,
                topic_prefix=scope.prefix,
                email="dora@example.com",
                phone="+8613900000201",
                language="en",
            )
        assert reply.status_code == 201, reply.text
        account_id = reply.json()["account_id"]

        mail = await asyncio.to_thread(
            sink.wait_for,
            lambda m: "dora@example.com" in m.rcpt_to and m.subject == "Welcome to Account Center",
            30.0,
        )
        assert mail.subject == "Welcome to Account Center"
        assert account_id in mail.text

        for service in ("verification", "cancellation"):
            db = f"{scope.infra.postgres_dsn}/{scope.prefix}{service}"

            async def projected(db: str = db) -> object:
                conn = await asyncpg.connect(db)
                try:
                    return await conn.fetchval(
                        "SELECT registration_method FROM accounts WHERE account_id = $1",
                        account_id,
                    )
                finally:
                    await conn.close()

            assert await eventually(projected, what=f"{service} projection") == "email"

        async def welcome_sent() -> list[Envelope[Any]]:
            records = await read_all(scope.infra.kafka, scope.topic("notifier.events"))
            events = [decode(r.value, REGISTRY) for r in records]
            return [
                e
                for e in events
                if isinstance(e.payload, NotificationSent) and e.payload.message_type == "welcome"
            ]

        (event,) = await eventually(welcome_sent, what="NotificationSent for the welcome")
        assert event.account_id == account_id
        assert event.payload.destination_masked == "d***@example.com"
        welcomes = [m for m in sink.snapshot() if m.subject == mail.subject]
        assert welcomes == [mail]  # one event, one message
        # The registration codes went out as messages too: SMS to the phone, email to dora.
        sms_code = await asyncio.to_thread(
            sms.wait_for, lambda m: m.phone_number == "+8613900000201", 30.0
        )
        assert sms_code.template_id == "verification_code.en"
