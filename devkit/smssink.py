"""A local SMS sink: speaks the SMS provider protocol of services/notifier/adapters/sms.py over
real HTTP and keeps every message for inspection. It can be told to fail, so retries and dead
letters can be seen.

    POST /sms/send          the provider API (JSON; per-number status in the reply)
    GET  /messages  (or /)  the messages received, oldest first, as JSON
    POST /control/fail      {"times": 2, "mode": "unavailable" | "throttled" | "invalid_number",
                             "phone_number": "+86..." (optional: else every number)}
                            "times": null fails for ever
    POST /control/delay     {"seconds": 0.3}: wait that long before each reply
    POST /control/reset     forget failures, delay and messages
    GET  /stats             {"messages": n, "requests": n, "duplicates": n}

A request whose `client_request_id` was already accepted is answered with the first reply
and recorded once: like providers that take a client request id, a resend is a no-op.

The server is asyncio (uvicorn, with httptools when installed, and a bare ASGI app) with
HTTP/1.1 keep-alive, in a thread of its own: it answers thousands of requests per second
and keeps hundreds of connections, so it is not the ceiling of a benchmark of the notifier
(the stdlib ThreadingHTTPServer it replaced managed about 530 per second and dropped
connections at 64 in flight).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import importlib.util
import json
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

FAILURE_MODES = ("unavailable", "throttled", "invalid_number")


@dataclass(frozen=True)
class ReceivedSms:
    received_at: float
    request_id: str
    client_request_id: str
    app_id: str
    sign_name: str
    phone_number: str
    template_id: str
    template_params: tuple[str, ...]
    content: str

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["template_params"] = list(self.template_params)
        data["text"] = f"【{self.sign_name}】{self.content}"
        return data


@dataclass
class _Failure:
    mode: str
    remaining: int | None  # None: for ever


class SmsSink:
    """HTTP server on host:port (port 0: a free one); `messages` holds what arrived."""

    def __init__(
        self,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        secret_key: str | None = None,
        directory: Path | None = None,
    ) -> None:
        self.secret_key = secret_key
        self.directory = directory
        self.messages: list[ReceivedSms] = []
        self.requests = 0
        self.duplicates = 0
        self.delay_s = 0.0
        self._failures: dict[str | None, list[_Failure]] = {}
        self._accepted: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        # proto=IPPROTO_TCP: asyncio then sets TCP_NODELAY on every accepted connection (a
        # reply in two writes would otherwise wait 40 ms for the client's delayed ACK).
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.host = host
        self.port: int = self._socket.getsockname()[1]
        self._server = uvicorn.Server(
            uvicorn.Config(
                _App(self),
                log_level="warning",
                access_log=False,
                lifespan="off",
                http="httptools" if importlib.util.find_spec("httptools") else "h11",
                loop="asyncio",
                backlog=2048,
                timeout_keep_alive=30,
                timeout_graceful_shutdown=1,
            )
        )
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/sms/send"

    def start(self) -> SmsSink:
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the SMS sink did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._socket.close()

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "messages": len(self.messages),
                "requests": self.requests,
                "duplicates": self.duplicates,
            }

    # --- control ------------------------------------------------------------------------

    def fail(self, times: int | None, mode: str = "unavailable", phone: str | None = None) -> None:
        """Fail the next `times` sends (to `phone`, or to anyone); None: for ever. Rules for
        the same phone queue up: fail(1, "unavailable"); fail(1, "throttled") fails twice."""
        if mode not in FAILURE_MODES:
            raise ValueError(f"mode must be one of {FAILURE_MODES}")
        with self._lock:
            self._failures.setdefault(phone, []).append(_Failure(mode, times))

    def reset(self) -> None:
        with self._lock:
            self._failures.clear()
            self._accepted.clear()
            self.messages.clear()
            self.requests = self.duplicates = 0
            self.delay_s = 0.0

    def snapshot(self) -> list[ReceivedSms]:
        with self._lock:
            return list(self.messages)

    def wait_for(
        self, predicate: Callable[[ReceivedSms], bool], timeout_s: float = 20.0
    ) -> ReceivedSms:
        """The first message matching predicate; TimeoutError after the deadline."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for sms in self.snapshot():
                if predicate(sms):
                    return sms
            time.sleep(0.05)
        raise TimeoutError(f"no matching SMS within {timeout_s}s; got {len(self.snapshot())}")

    # --- the provider API ---------------------------------------------------------------

    def _take_failure(self, phone: str) -> str | None:
        for key in (phone, None):
            rules = self._failures.get(key)
            if not rules:
                continue
            failure = rules[0]
            if failure.remaining is not None:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    rules.pop(0)
            return failure.mode
        return None

    def handle_send(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if self.secret_key is not None:
            timestamp = headers.get("x-sms-timestamp", "")
            expected = hmac.new(
                self.secret_key.encode(), timestamp.encode() + b"\n" + body, hashlib.sha256
            ).hexdigest()
            if not hmac.compare_digest(expected, headers.get("x-sms-signature", "")):
                return 401, {"error": "AuthFailure", "message": "signature does not match"}
        try:
            request = json.loads(body)
            numbers = [str(n) for n in request["phone_numbers"]]
            client_request_id = str(request.get("client_request_id") or uuid.uuid4())
        except (ValueError, KeyError, TypeError):
            return 400, {"error": "InvalidParameter", "message": "malformed request"}
        with self._lock:
            self.requests += 1
            if client_request_id in self._accepted:
                self.duplicates += 1
                return 200, self._accepted[client_request_id]
            request_id = uuid.uuid4().hex
            results: list[dict[str, Any]] = []
            received: list[ReceivedSms] = []
            for number in numbers:
                failure = self._take_failure(number)
                if failure == "unavailable":
                    return 503, {"error": "ServiceUnavailable", "message": "try again later"}
                if failure is not None:
                    results.append({"phone_number": number, "status": failure, "message": failure})
                    continue
                received.append(
                    ReceivedSms(
                        received_at=time.time(),
                        request_id=request_id,
                        client_request_id=client_request_id,
                        app_id=str(request.get("app_id", "")),
                        sign_name=str(request.get("sign_name", "")),
                        phone_number=number,
                        template_id=str(request.get("template_id", "")),
                        template_params=tuple(str(p) for p in request.get("template_params", [])),
                        content=str(request.get("content", "")),
                    )
                )
                results.append(
                    {
                        "phone_number": number,
                        "status": "ok",
                        "message": "send success",
                        "serial_no": uuid.uuid4().hex,
                    }
                )
            reply = {"request_id": request_id, "results": results}
            if received:
                self._accepted[client_request_id] = reply
                self.messages.extend(received)
        if received and self.directory is not None:
            with (self.directory / "messages.jsonl").open("a", encoding="utf-8") as f:
                for sms in received:
                    f.write(json.dumps(sms.as_json(), ensure_ascii=False) + "\n")
        return 200, reply

    def handle_control(self, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            data = json.loads(body or b"{}")
            if path == "/control/fail":
                self.fail(
                    data.get("times"), data.get("mode", "unavailable"), data.get("phone_number")
                )
            elif path == "/control/delay":
                self.delay_s = float(data.get("seconds", 0))
            elif path == "/control/reset":
                self.reset()
            else:
                return 404, {"error": "NotFound"}
        except (ValueError, TypeError, AttributeError) as exc:
            return 400, {"error": "InvalidParameter", "message": str(exc)}
        return 200, {"ok": True}


class _App:
    """The sink's HTTP API as a bare ASGI app (no framework: the sink must stay fast)."""

    def __init__(self, sink: SmsSink) -> None:
        self.sink = sink

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        sink = self.sink
        path, method = scope["path"], scope["method"]
        if method == "GET":
            if path in ("/", "/messages"):
                await _reply(send, 200, [m.as_json() for m in sink.snapshot()])
            elif path == "/stats":
                await _reply(send, 200, sink.stats())
            else:
                await _reply(send, 404, {"error": "NotFound"})
            return
        if method != "POST":
            await _reply(send, 405, {"error": "MethodNotAllowed"})
            return
        body = await _body(receive)
        if path.startswith("/control/"):
            await _reply(send, *sink.handle_control(path, body))
            return
        if path != "/sms/send":
            await _reply(send, 404, {"error": "NotFound"})
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        status, reply = sink.handle_send(body, headers)
        # Recorded first, answered later: a sender killed meanwhile has been "accepted"
        # without knowing it, the case the client request id is for.
        if sink.delay_s:
            await asyncio.sleep(sink.delay_s)
        await _reply(send, status, reply)


async def _body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _reply(send: Send, status: int, data: Any) -> None:
    payload = json.dumps(data, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def main() -> None:
    """`account-center-sms-sink`: run the sink on its own (e.g. in the compose stack)."""
    parser = argparse.ArgumentParser(description="Local SMS sink (the SMS provider protocol).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8026)
    parser.add_argument("--secret-key", default=None, help="check request signatures")
    args = parser.parse_args()
    sink = SmsSink(args.port, host=args.host, secret_key=args.secret_key).start()
    print(f"SMS sink: POST {sink.url}; messages at http://{args.host}:{sink.port}/messages")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        sink.stop()
