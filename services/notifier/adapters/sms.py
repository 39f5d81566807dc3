"""SMS through a provider's HTTP API (httpx), shaped like the commercial ones.

One request per message: `POST SMS_API_URL` with a JSON body

    {"app_id": "...", "sign_name": "...", "template_id": "verification_code.en",
     "template_params": ["123456", "5"], "phone_numbers": ["+8618112341234"],
     "client_request_id": "<delivery id>", "content": "<our own rendering>"}

signed, when SMS_SECRET_KEY is set, by `X-Sms-Signature: hex(HMAC-SHA256(key,
"<X-Sms-Timestamp>\\n<body>"))`. The reply names a status per number:

    {"request_id": "...", "results": [{"phone_number": "+8618112341234", "status": "ok",
     "message": "...", "serial_no": "..."}]}

`client_request_id` is the idempotency key: a provider (and the dev sink) that already
accepted a request with that id answers with the first reply and sends nothing again.
`content` is the text as our templates render it; a provider that sends its own approved
template (`template_id` + `template_params`) ignores it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx

from services.notifier.adapters.ports import DeliveryError, Sms
from services.notifier.settings import NotifierSettings

# Per-number statuses worth retrying; any other status but "ok" is a permanent refusal.
TRANSIENT_STATUSES = frozenset({"throttled", "busy", "system_error"})
# HTTP statuses worth retrying; other 4xx mean the request itself is wrong.
TRANSIENT_HTTP = frozenset({408, 409, 425, 429})


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()


class HttpSmsProvider:
    """The SMS provider adapter; one pooled HTTP client per process."""

    def __init__(self, settings: NotifierSettings, *, client: httpx.AsyncClient | None = None):
        self._s = settings
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(settings.sms_timeout_s),
            # Keep-alive connections for every send in flight: no connect per message.
            limits=httpx.Limits(
                max_connections=settings.delivery_concurrency * 2,
                max_keepalive_connections=settings.delivery_concurrency,
            ),
        )

    def request_body(self, sms: Sms) -> dict[str, Any]:
        return {
            "app_id": self._s.sms_app_id,
            "sign_name": self._s.sms_sign_name,
            "template_id": sms.template_id,
            "template_params": list(sms.template_params),
            "phone_numbers": [sms.to],
            "client_request_id": sms.idempotency_key,
            "content": sms.content,
        }

    async def send(self, sms: Sms) -> str:
        body = json.dumps(self.request_body(sms), ensure_ascii=False).encode()
        timestamp = str(int(time.time()))
        headers = {
            "content-type": "application/json; charset=utf-8",
            "x-sms-app-id": self._s.sms_app_id,
            "x-sms-timestamp": timestamp,
            "x-request-id": sms.idempotency_key,
        }
        if self._s.sms_secret_key is not None:
            headers["x-sms-signature"] = sign(
                self._s.sms_secret_key.get_secret_value(), timestamp, body
            )
        try:
            reply = await self._client.post(self._s.sms_api_url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(
                f"SMS provider unavailable: {type(exc).__name__}", permanent=False
            ) from None
        if reply.status_code >= 500 or reply.status_code in TRANSIENT_HTTP:
            raise DeliveryError(f"SMS provider HTTP {reply.status_code}", permanent=False)
        if reply.status_code >= 400:
            raise DeliveryError(
                f"SMS provider HTTP {reply.status_code}: {reply.text[:200]}", permanent=True
            )
        return _serial_number(reply, sms.to)

    async def aclose(self) -> None:
        await self._client.aclose()


def _serial_number(reply: httpx.Response, phone: str) -> str:
    try:
        results = reply.json()["results"]
        result = next(r for r in results if r["phone_number"] == phone)
        status = str(result["status"])
    except (ValueError, KeyError, TypeError, StopIteration):
        # The provider may have sent it: retrying with the same request id is safe.
        raise DeliveryError("SMS provider reply not understood", permanent=False) from None
    if status == "ok":
        return str(result.get("serial_no", ""))
    message = str(result.get("message", ""))[:200]
    raise DeliveryError(f"SMS {status}: {message}", permanent=status not in TRANSIENT_STATUSES)
