"""No secret in errors (issue 7 item 3, CODE-3): a failing statement that carried a one-time
code or a destination leaves neither in a log line, an HTTP 500 or a `dlq.error` header, and
the dead-lettered copy of a code request has its code scrubbed.

The services run as OS processes with their production logging, over the real broker and
PostgreSQL; the database is made to refuse the row (a CHECK constraint added after the
migrations), so the error text PostgreSQL and SQLAlchemy produce would quote it: the bound
parameters, and DETAIL's "Failing row contains (...)".
"""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import ConsumerRecord

from devkit.testing.infra import Scope
from devkit.testing.kafka import publish, read_all
from devkit.testing.services import ServiceProcess
from devkit.testing.waiting import eventually
from shared.events import Channel, NotificationRequested, new_envelope

pytestmark = pytest.mark.e2e

PHONE = "+8613912345678"
CODE = "913724"
REFUSE = "ALTER TABLE {table} ADD CONSTRAINT test_refuses_rows CHECK (false) NOT VALID"


def leaks(text: str, *secrets: str) -> list[str]:
    """The secrets found in the text, as typed, without the `+`, or hex-encoded (bytea)."""
    forms = {form for s in secrets for form in (s, s.lstrip("+"), s.encode().hex())}
    return sorted(form for form in forms if form in text)


async def refuse_rows(scope: Scope, service: str, table: str) -> None:
    db = await asyncpg.connect(f"{scope.infra.postgres_dsn}/{scope.prefix}{service}")
    try:
        await db.execute(REFUSE.format(table=table))
    finally:
        await db.close()


async def test_a_failing_code_request_shows_no_destination_or_code_in_the_500_or_the_log(
    scope: Scope, tmp_path: Path
) -> None:
    identity = ServiceProcess("identity", scope.env(), tmp_path).start()
    try:
        identity.wait_ready()
        # The code's NotificationRequested (destination and code in its bytes) is the row
        # refused.
        await refuse_rows(scope, "identity", "outbox")
        async with httpx.AsyncClient(base_url=identity.url, timeout=30) as client:
            captcha = await client.post("/v1/dev/captcha-tickets", json={"identifier": PHONE})
            assert captcha.status_code == 201, captcha.text
            answer = await client.post(
                "/v1/codes",
                json={
                    "purpose": "register",
                    "channel": "sms",
                    "destination": PHONE,
                    "captcha_ticket": captcha.json()["ticket"],
                },
            )
    finally:
        identity.stop()
    log = identity.log_path.read_text(errors="replace")
    assert answer.status_code == 500
    assert answer.json()["error"]["code"] == "INTERNAL_ERROR"
    assert "http_unhandled_error" in log and "CheckViolationError" in log
    assert "test_refuses_rows" in log  # the constraint is named: the log still says why
    # The code is random: no trace of the request's params stands in for it.
    assert leaks(answer.text + log, PHONE, '"params":{"code":') == []


async def test_a_code_request_the_notifier_cannot_queue_is_dead_lettered_without_its_secrets(
    scope: Scope, tmp_path: Path
) -> None:
    notifier = ServiceProcess("notifier", scope.env(CONSUMER_MAX_ATTEMPTS=2), tmp_path).start()
    request = new_envelope(
        NotificationRequested(
            message_type="verification_code",
            channel=Channel.SMS,
            destination=PHONE,
            params={"code": CODE, "minutes": "5"},
        ),
        producer="identity",
        account_id="",
    )
    dlq = scope.topic("notifier.requests.dlq")
    try:
        notifier.wait_ready()
        # The delivery row (destination and code as bound parameters) is the row refused.
        await refuse_rows(scope, "notifier", "deliveries")
        await publish(scope.infra.kafka, scope.topic("notifier.requests"), request)

        async def dead_letter() -> list[ConsumerRecord[bytes, bytes]]:
            records = await read_all(scope.infra.kafka, dlq)
            return [r for r in records if dict(r.headers)["dlq.reason"] == b"handler_failed"]

        (record,) = await eventually(dead_letter, what="the request dead-lettered")
    finally:
        notifier.stop()
    log = notifier.log_path.read_text(errors="replace")
    headers = dict(record.headers)
    assert b"CheckViolationError" in headers["dlq.error"]
    assert headers["dlq.scrubbed"] == b"payload.destination,payload.params"
    assert record.value is not None
    copy = json.loads(record.value)
    assert copy["event_id"] == str(request.event_id)
    assert copy["payload"]["params"] == {"code": "***", "minutes": "***"}
    assert copy["payload"]["destination"] == "***"
    everything = "\n".join(
        [log, record.value.decode(), *(v.decode(errors="replace") for v in headers.values())]
    )
    assert "event_handler_retry" in log and "CheckViolationError" in log
    assert leaks(everything, PHONE, CODE) == []
