"""Correlation and causation: the request id middleware and the envelope builder."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from shared.events import AccountRegistered, LoginMethodKind, new_envelope
from shared.tracing import (
    RequestIdMiddleware,
    Trace,
    caused_by,
    current_trace,
    request_id_from,
    tracing,
)

pytestmark = pytest.mark.unit


def registered() -> AccountRegistered:
    return AccountRegistered(
        registered_at=datetime(2026, 1, 2, tzinfo=UTC), method=LoginMethodKind.EMAIL
    )


def app_reporting_its_trace() -> FastAPI:
    app = FastAPI()

    @app.get("/trace")
    async def trace() -> dict[str, str | None]:
        current = current_trace()
        assert current is not None
        event = new_envelope(registered(), producer="identity", account_id="1")
        return {"trace": str(current.correlation_id), "event": str(event.correlation_id)}

    app.add_middleware(RequestIdMiddleware)
    return app


async def get(headers: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=app_reporting_its_trace())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get("/trace", headers=headers)


async def test_an_incoming_request_id_is_the_correlation_of_what_the_request_emits() -> None:
    rid = uuid.uuid4()
    reply = await get({"X-Request-ID": str(rid)})
    assert reply.headers["X-Request-ID"] == str(rid)
    assert reply.json() == {"trace": str(rid), "event": str(rid)}


@pytest.mark.parametrize("incoming", [None, "", "not-a-uuid", "x" * 500, "1234"])
async def test_a_request_without_a_usable_id_gets_a_new_one_and_is_told(
    incoming: str | None,
) -> None:
    reply = await get({"X-Request-ID": incoming} if incoming is not None else {})
    given = uuid.UUID(reply.headers["X-Request-ID"])
    assert reply.json() == {"trace": str(given), "event": str(given)}
    assert str(given) != incoming


def test_a_request_id_of_32_hex_digits_is_kept() -> None:
    rid = uuid.uuid4()
    assert request_id_from(rid.hex) == rid


def test_an_event_emitted_while_handling_an_event_names_it_as_the_cause() -> None:
    cause = new_envelope(registered(), producer="identity", account_id="1")
    with tracing(caused_by(cause)):
        effect = new_envelope(registered(), producer="notifier", account_id="1")
    assert effect.correlation_id == cause.correlation_id
    assert effect.causation_id == cause.event_id
    assert current_trace() is None  # the trace ends with the block


def test_the_first_event_of_a_request_has_no_cause() -> None:
    rid = uuid.uuid4()
    with tracing(Trace(rid)):
        first = new_envelope(registered(), producer="identity", account_id="1")
    assert (first.correlation_id, first.causation_id) == (rid, None)


def test_outside_any_trace_an_event_starts_its_own_correlation() -> None:
    one = new_envelope(registered(), producer="identity", account_id="1")
    two = new_envelope(registered(), producer="identity", account_id="1")
    assert one.correlation_id != two.correlation_id
    assert one.causation_id is None


def test_occurred_at_is_the_time_the_producer_gives() -> None:
    at = datetime(2030, 5, 6, 7, 8, tzinfo=UTC)
    event = new_envelope(registered(), producer="identity", account_id="1", occurred_at=at)
    assert event.occurred_at == at
