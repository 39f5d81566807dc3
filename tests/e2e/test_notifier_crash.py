"""The notifier as an OS process, killed with SIGKILL in the middle of a batch and restarted:
every message arrives, an SMS exactly once, an email twice only if the kill fell in its
window (accepted by the SMTP server, not yet recorded as sent) (NOT-3, README "crash
windows")."""

from __future__ import annotations

import email
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from devkit.broker import free_port
from devkit.mailsink import MailSink
from devkit.smssink import SmsSink
from devkit.testing.infra import Scope
from devkit.testing.kafka import read_all
from devkit.testing.services import ServiceProcess
from devkit.testing.waiting import eventually
from shared.events import (
    REGISTRY,
    Channel,
    Envelope,
    NotificationRequested,
    NotificationSent,
    decode,
    encode,
    headers_of,
    new_envelope,
)

pytestmark = pytest.mark.e2e

SMS_COUNT, EMAIL_COUNT = 20, 10


@pytest.fixture
def sinks() -> Iterator[tuple[SmsSink, MailSink]]:
    sms = SmsSink().start()
    mail = MailSink(free_port())
    mail.start()
    # Each message is recorded at once and answered 0.25 s later: killed meanwhile, the
    # notifier has had a message accepted without knowing it.
    sms.delay_s = mail.delay_s = 0.25
    yield sms, mail
    sms.stop()
    mail.stop()


def requests() -> list[Envelope[Any]]:
    events = []
    for n in range(SMS_COUNT + EMAIL_COUNT):
        sms = n < SMS_COUNT
        events.append(
            new_envelope(
                NotificationRequested(
                    message_type="verification_code",
                    channel=Channel.SMS if sms else Channel.EMAIL,
                    destination=f"+8618100{n:06d}" if sms else f"user{n}@example.com",
                    params={"code": f"{n:06d}", "minutes": "5"},
                ),
                producer="identity",
                account_id=f"8{n:011d}",
            )
        )
    return events


async def test_not_3_a_notifier_killed_mid_batch_and_restarted_delivers_every_message(
    scope: Scope, sinks: tuple[SmsSink, MailSink], tmp_path: Path
) -> None:
    """NOT-3: SIGKILL while a batch of 30 messages is being delivered; after a restart:

    - every SMS reaches the phone once: the resend of one in flight at the kill carries the
      same client request id and the provider drops it;
    - every email reaches the SMTP server (counted as the server received them, duplicates
      included), and a second copy exists only for a mail the server had accepted while its
      delivery was still `sending` at the kill: the one window SMTP leaves open.
    """
    sms, mail = sinks
    env = scope.env(SMTP_PORT=mail.port, SMS_API_URL=sms.url, DELIVERY_CONCURRENCY=4)
    events = requests()
    destinations = {e.payload.destination for e in events}
    db = f"{scope.infra.postgres_dsn}/{scope.prefix}notifier"

    def received() -> list[str]:
        return [m.phone_number for m in sms.snapshot()] + [
            to for m in mail.every_copy() for to in m.rcpt_to
        ]

    first = ServiceProcess("notifier", env, tmp_path).start()
    try:
        first.wait_ready()
        producer = AIOKafkaProducer(bootstrap_servers=scope.infra.kafka, acks="all")
        await producer.start()
        try:
            for event in events:
                await producer.send(
                    scope.topic("notifier.requests"),
                    value=encode(event),
                    key=event.account_id.encode(),
                    headers=headers_of(event),
                )
            await producer.flush()
        finally:
            await producer.stop()

        async def mid_batch() -> bool:
            return len(received()) >= 8

        await eventually(mid_batch, timeout_s=60, interval_s=0.01, what="a third of the batch")
    finally:
        first.kill()
    at_kill = len(received())
    assert at_kill < len(events), "the batch was over before the kill"
    # The process is dead: what the servers hold and what the database says is the state
    # at the kill.
    mail_accepted = {m.message_id for m in mail.every_copy()}
    sms_accepted = {m.client_request_id for m in sms.snapshot()}
    conn = await asyncpg.connect(db)
    try:
        unrecorded = {
            str(r["id"])
            for r in await conn.fetch("SELECT id FROM deliveries WHERE status = 'sending'")
        }
    finally:
        await conn.close()
    mail_window = {m for m in mail_accepted if m.strip("<>").split("@")[0] in unrecorded}
    sms_window = sms_accepted & unrecorded

    second = ServiceProcess("notifier", env, tmp_path).start()
    try:
        second.wait_ready()

        async def all_sent() -> bool:
            conn = await asyncpg.connect(db)
            try:
                statuses = await conn.fetch("SELECT status, count(*) FROM deliveries GROUP BY 1")
            finally:
                await conn.close()
            return {r["status"]: r["count"] for r in statuses} == {"sent": len(events)}

        await eventually(all_sent, timeout_s=60, what="every delivery sent after the restart")

        async def every_outcome() -> list[Envelope[Any]]:
            records = await read_all(scope.infra.kafka, scope.topic("notifier.events"))
            unique = {r.value: r for r in records}  # the relay publishes at least once
            outcomes = [decode(v, REGISTRY) for v in unique if v is not None]
            return outcomes if len(outcomes) >= len(events) else []

        outcomes = await eventually(every_outcome, what="a NotificationSent per message")
    finally:
        second.stop()

    counts = Counter(received())
    assert set(counts) == destinations, "a message never arrived"
    assert len(sms.snapshot()) == SMS_COUNT
    assert [d for d, n in counts.items() if n != 1 and d.startswith("+")] == []
    copies = Counter(m.message_id for m in mail.every_copy())
    assert len(copies) == EMAIL_COUNT and all(m.rcpt_to for m in mail.every_copy())
    twice = {m for m, n in copies.items() if n > 1}
    assert twice <= mail_window, "an email outside the crash window arrived twice"
    assert max(copies.values()) <= 2
    assert all(email.message_from_bytes(m.raw)["Date"] for m in mail.every_copy())
    assert all(isinstance(e.payload, NotificationSent) for e in outcomes)
    assert Counter(e.payload.source_event_id for e in outcomes) == Counter(
        {str(e.event_id): 1 for e in events}
    )
    # The kill did catch messages accepted but not yet recorded as sent.
    assert mail_window | sms_window, f"no message was in its window at the kill ({at_kill})"
