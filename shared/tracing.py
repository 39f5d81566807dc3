"""Which request, and which event, caused the events a service emits now.

A request or a consumed event sets the trace (a contextvar) for the work it causes; the
envelope builder reads it, so every event carries the request's `correlation_id` and, when an
event caused it, that event's id as `causation_id`, without threading both through every
use case. Two places set it: `RequestIdMiddleware` for HTTP, the consumer wrapper for events.
Log lines carry the correlation id too.

A correlation id is for following what happened, never for deciding anything: a caller
chooses it freely through `X-Request-ID`.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from shared.events.envelope import Envelope

REQUEST_ID_HEADER = "X-Request-ID"
# Longer values are not an id we can use (a UUID is 36 characters; some proxies send 32 hex).
_MAX_REQUEST_ID = 64


@dataclass(frozen=True)
class Trace:
    """The correlation of the work in progress, and the event that caused it, if any."""

    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None = None


_current: ContextVar[Trace | None] = ContextVar("event_trace", default=None)


def current_trace() -> Trace | None:
    return _current.get()


@contextlib.contextmanager
def tracing(trace: Trace) -> Iterator[Trace]:
    """Run the block under `trace`: the events it emits carry it, its log lines name it."""
    token = _current.set(trace)
    try:
        with structlog.contextvars.bound_contextvars(correlation_id=str(trace.correlation_id)):
            yield trace
    finally:
        _current.reset(token)


def caused_by(envelope: Envelope[Any]) -> Trace:
    """The trace of the work an event causes: its correlation, and itself as the cause."""
    return Trace(correlation_id=envelope.correlation_id, causation_id=envelope.event_id)


def request_id_from(value: str | None) -> uuid.UUID:
    """The incoming request id when it is a UUID (32 hex digits accepted), else a new one."""
    if value and len(value) <= _MAX_REQUEST_ID:
        with contextlib.suppress(ValueError):
            return uuid.UUID(value.strip())
    return uuid.uuid4()


class RequestIdMiddleware:
    """Every HTTP request gets a correlation id: its `X-Request-ID` when that is a UUID, else
    a new one. It is the trace of everything the request does and is returned in the
    response's `X-Request-ID`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next(
            (
                value.decode("latin-1")
                for name, value in scope.get("headers", ())
                if name.lower() == b"x-request-id"
            ),
            None,
        )
        correlation_id = request_id_from(incoming)
        echoed = str(correlation_id).encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", ()) if k.lower() != b"x-request-id"
                ]
                message = {**message, "headers": [*headers, (b"x-request-id", echoed)]}
            await send(message)

        with tracing(Trace(correlation_id)):
            await self.app(scope, receive, send_with_id)
