"""Traceable events over the real broker: one registration followed, by its correlation id,
from the HTTP request to the welcome email's NotificationSent (issue 7 item 5).

Identity and the notifier run in this process, each with its real lifespan (PostgreSQL,
outbox relay, subscribers), and talk only through the broker; mail and SMS go to the sinks.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devkit.broker import free_port
from devkit.mailsink import MailSink
from devkit.smssink import SmsSink
from devkit.testing.accounts import captcha_ticket, register_by_email
from devkit.testing.infra import Scope
from devkit.testing.kafka import read_all
from devkit.testing.services import running
from devkit.testing.waiting import eventually
from services.identity.main import spec as identity_spec
from services.identity.settings import IdentitySettings
from services.notifier.main import spec as notifier_spec
from services.notifier.settings import NotifierSettings
from shared.clock import FixedClock
from shared.events import (
    REGISTRY,
    AccountContacts,
    AccountRegistered,
    Envelope,
    NotificationRequested,
    NotificationSent,
    decode,
)

pytestmark = pytest.mark.integration

# Identity's injected clock: a minute back, so a timestamp from the system clock shows.
CLOCK = FixedClock(datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1))


@contextlib.contextmanager
def sinks() -> Iterator[tuple[MailSink, SmsSink]]:
    mail = MailSink(free_port())
    mail.start()
    sms = SmsSink().start()
    try:
        yield mail, sms
    finally:
        sms.stop()
        mail.stop()


@contextlib.asynccontextmanager
async def identity_and_notifier(scope: Scope, mail: MailSink, sms: SmsSink) -> AsyncIterator[Any]:
    identity = dataclasses.replace(
        identity_spec(
            scope.settings(
                IdentitySettings, argon2_time_cost=1, argon2_memory_kib=1024, code_per_minute=100
            )
        ),
        clock=CLOCK,
    )
    notifier = notifier_spec(
        scope.settings(NotifierSettings, smtp_port=mail.port, sms_api_url=sms.url)
    )
    async with running(notifier), running(identity) as (_, client):
        yield client


async def events_on(scope: Scope, topic: str) -> list[Envelope[Any]]:
    records = await read_all(scope.infra.kafka, scope.topic(topic))
    return [decode(r.value, REGISTRY) for r in records if r.value is not None]


async def test_one_registration_is_followed_to_the_welcome_email_by_its_correlation_id(
    scope: Scope,
) -> None:
    """The registration request's X-Request-ID is the correlation of every event it causes:
    AccountRegistered and AccountContacts (identity, stamped by identity's injected clock),
    then the welcome email's NotificationSent (notifier), whose cause is AccountRegistered."""
    request_id = uuid.uuid4()
    with sinks() as (mail, sms):
        async with identity_and_notifier(scope, mail, sms) as client:
            reply = await register_by_email(
                client,
                kafka=scope.infra.kafka,
                topic_prefix=scope.prefix,
                email="tracy@example.com",
                phone="+8613900000777",
                language="en",
                request_id=str(request_id),
            )
            assert reply.status_code == 201, reply.text
            assert reply.headers["X-Request-ID"] == str(request_id)
            account_id = reply.json()["account_id"]

            async def welcome_sent() -> list[Envelope[Any]]:
                return [
                    e
                    for e in await events_on(scope, "notifier.events")
                    if e.correlation_id == request_id
                    and isinstance(e.payload, NotificationSent)
                    and e.payload.message_type == "welcome"
                ]

            (sent,) = await eventually(welcome_sent, what="the welcome's NotificationSent")
            await asyncio.to_thread(mail.wait_for, lambda m: "tracy@example.com" in m.rcpt_to, 10.0)

    caused = [
        e for e in await events_on(scope, "identity.events") if e.correlation_id == request_id
    ]
    (registered,) = caused
    assert isinstance(registered.payload, AccountRegistered)
    assert registered.account_id == account_id
    assert registered.causation_id is None  # the first event of the request
    assert registered.occurred_at == CLOCK.now()  # identity's clock, not the system's
    (contacts,) = [
        e for e in await events_on(scope, "identity.contacts") if e.correlation_id == request_id
    ]
    assert isinstance(contacts.payload, AccountContacts)
    assert contacts.occurred_at == CLOCK.now()

    assert sent.account_id == account_id
    assert sent.causation_id == registered.event_id
    assert sent.payload.source_event_id == str(registered.event_id)
    assert sent.producer == "notifier"
    # and on the wire, where tools and the AsyncAPI documents look for it: a header (the
    # first copy: at-least-once publishing may write one twice)
    record = next(
        r
        for r in await read_all(scope.infra.kafka, scope.topic("notifier.events"))
        if dict(r.headers).get("event_id") == str(sent.event_id).encode()
    )
    assert dict(record.headers)["correlation_id"] == str(request_id).encode()


async def test_a_code_request_without_a_request_id_is_given_one_that_its_event_carries(
    scope: Scope,
) -> None:
    """No X-Request-ID: identity makes one, returns it, and the code's NotificationRequested
    carries it; an unusable one (not a UUID) is replaced the same way."""
    settings = scope.settings(IdentitySettings, code_per_minute=100)
    async with running(dataclasses.replace(identity_spec(settings), clock=CLOCK)) as (_, client):
        replies = []
        for headers, phone in (
            ({}, "+8613900000778"),
            ({"X-Request-ID": "../x"}, "+8613900000779"),
        ):
            reply = await client.post(
                "/v1/codes",
                json={
                    "purpose": "register",
                    "channel": "sms",
                    "destination": phone,
                    "captcha_ticket": await captcha_ticket(client, phone),
                },
                headers=headers,
            )
            assert reply.status_code == 202, reply.text
            replies.append(uuid.UUID(reply.headers["X-Request-ID"]))

        async def requested() -> list[Envelope[Any]]:
            events = await events_on(scope, "notifier.requests")
            return events if len(events) == 2 else []

        events = await eventually(requested, what="two NotificationRequested")
    assert all(isinstance(e.payload, NotificationRequested) for e in events)
    assert sorted(e.correlation_id for e in events) == sorted(replies)
    assert all(e.causation_id is None and e.occurred_at == CLOCK.now() for e in events)
