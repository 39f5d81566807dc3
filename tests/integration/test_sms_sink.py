"""The dev SMS sink over real HTTP: many connections in flight at once, keep-alive, and its
provider protocol (a repeated client request id is answered with the first reply)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest

from devkit.smssink import SmsSink

pytestmark = pytest.mark.integration

IN_FLIGHT = 128


@pytest.fixture
def sink() -> Iterator[SmsSink]:
    sms = SmsSink().start()
    yield sms
    sms.stop()


def body(n: int, request_id: str | None = None) -> bytes:
    return json.dumps(
        {
            "phone_numbers": [f"+86181{n:08d}"],
            "client_request_id": request_id or f"req-{n}",
            "template_id": "verification_code.en",
            "template_params": ["123456", "5"],
            "content": "code 123456",
        }
    ).encode()


async def test_the_sink_answers_128_connections_in_flight_without_dropping_one(
    sink: SmsSink,
) -> None:
    """The stdlib server it replaced dropped connections at 64 in flight."""
    sink.delay_s = 0.2  # every request is still open while the others arrive
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        replies = await asyncio.gather(
            *(client.post(sink.url, content=body(n)) for n in range(IN_FLIGHT))
        )
        assert [r.status_code for r in replies] == [200] * IN_FLIGHT
        assert all(r.json()["results"][0]["status"] == "ok" for r in replies)
        # Keep-alive: the same connections carry the next round.
        sink.delay_s = 0
        again = await asyncio.gather(
            *(client.post(sink.url, content=body(n, f"second-{n}")) for n in range(IN_FLIGHT))
        )
        assert {r.status_code for r in again} == {200}
        stats = (await client.get(sink.url.replace("/sms/send", "/stats"))).json()
    assert stats == {"messages": 2 * IN_FLIGHT, "requests": 2 * IN_FLIGHT, "duplicates": 0}


async def test_a_repeated_client_request_id_gets_the_first_reply_and_sends_nothing(
    sink: SmsSink,
) -> None:
    async with httpx.AsyncClient() as client:
        first = await client.post(sink.url, content=body(1, "same"))
        second = await client.post(sink.url, content=body(1, "same"))
        listed = (await client.get(sink.url.replace("/sms/send", "/messages"))).json()
    assert first.json() == second.json()
    assert len(listed) == 1 and listed[0]["client_request_id"] == "same"
    assert (sink.requests, sink.duplicates) == (2, 1)
