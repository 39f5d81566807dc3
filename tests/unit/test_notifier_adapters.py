"""The provider adapters without a network: the SMS API's replies sorted into sent, transient
and permanent (a fake `Transport`), and the email as it goes over SMTP."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import pytest

from services.notifier.adapters.mailer import SmtpMailer, message_id
from services.notifier.adapters.ports import DeliveryError, Email, Sms
from services.notifier.adapters.sms import AiohttpTransport, HttpSmsProvider, sign
from services.notifier.settings import NotifierSettings

pytestmark = pytest.mark.unit

SMS = Sms(
    to="+8618112341234",
    template_id="verification_code.en",
    template_params=("123456", "5"),
    content="Your verification code is 123456.",
    idempotency_key="d7a3c0de-0000-4000-8000-000000000001",
)


@dataclass(frozen=True)
class Request:
    url: str
    content: bytes
    headers: Mapping[str, str]


Handler = Callable[[Request], tuple[int, bytes]]


class FakeTransport:
    """Answers each POST with `handler`; no network."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        return self.handler(Request(url, body, dict(headers)))

    async def aclose(self) -> None:
        pass


def provider(handler: Handler, **settings: object) -> HttpSmsProvider:
    s = NotifierSettings(sms_api_url="http://sms.test/sms/send", **settings)  # type: ignore[arg-type]
    return HttpSmsProvider(s, transport=FakeTransport(handler))


def reply(status: str, code: int = 200) -> Handler:
    def handler(request: Request) -> tuple[int, bytes]:
        body = json.loads(request.content)
        results = [
            {"phone_number": n, "status": status, "serial_no": "s1"} for n in body["phone_numbers"]
        ]
        return code, json.dumps({"request_id": "r1", "results": results}).encode()

    return handler


async def test_not_5_an_sms_goes_as_template_id_parameters_sign_name_and_request_id() -> None:
    """NOT-5: shaped like a commercial SMS API; the delivery id is the client request id."""
    seen: list[Request] = []

    def handler(request: Request) -> tuple[int, bytes]:
        seen.append(request)
        return reply("ok")(request)

    sms = provider(handler, sms_secret_key="k3y", sms_sign_name="Acme")
    assert await sms.send(SMS) == "s1"
    (request,) = seen
    assert request.url == "http://sms.test/sms/send"
    body = json.loads(request.content)
    assert body == {
        "app_id": "account-center",
        "sign_name": "Acme",
        "template_id": "verification_code.en",
        "template_params": ["123456", "5"],
        "phone_numbers": ["+8618112341234"],
        "client_request_id": SMS.idempotency_key,
        "content": SMS.content,
    }
    assert request.headers["x-request-id"] == SMS.idempotency_key
    timestamp = request.headers["x-sms-timestamp"]
    assert request.headers["x-sms-signature"] == sign("k3y", timestamp, request.content)


@pytest.mark.parametrize(
    ("handler", "permanent"),
    [
        (reply("throttled"), False),
        (reply("invalid_number"), True),
        (reply("ok", 503), False),
        (reply("ok", 429), False),
        (reply("ok", 400), True),
        (lambda r: (200, b"<html>"), False),
        (lambda r: (200, b"\xff\xfe"), False),
    ],
)
async def test_not_3_provider_failures_are_sorted_into_transient_and_permanent(
    handler: Handler, permanent: bool
) -> None:
    with pytest.raises(DeliveryError) as failure:
        await provider(handler).send(SMS)
    assert failure.value.permanent is permanent


async def test_not_3_an_unreachable_provider_is_a_transient_failure() -> None:
    """The real transport against a port nobody listens on."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    s = NotifierSettings(sms_api_url=f"http://127.0.0.1:{port}/sms/send")
    sms = HttpSmsProvider(s, transport=AiohttpTransport(timeout_s=2, connections=2))
    try:
        with pytest.raises(DeliveryError) as failure:
            await sms.send(SMS)
    finally:
        await sms.aclose()
    assert not failure.value.permanent
    assert "unavailable" in str(failure.value)


AT = datetime(2026, 11, 22, 8, 30, 5, tzinfo=UTC)


def test_not_5_an_email_has_text_and_html_and_a_message_id_stable_per_delivery() -> None:
    mailer = SmtpMailer(NotifierSettings())
    email = Email(
        to="alice@example.com",
        subject="Hello",
        text="plain",
        html="<p>html</p>",
        idempotency_key="d7a3c0de",
        date=AT,
    )
    first, second = mailer.build(email), mailer.build(email)
    assert first["Message-ID"] == second["Message-ID"] == "<d7a3c0de@account.example.com>"
    assert message_id("k", "no-reply@x.org") == "<k@x.org>"
    assert first.get_body(("plain",)).get_content().strip() == "plain"  # type: ignore[union-attr]
    assert first.get_body(("html",)).get_content().strip() == "<p>html</p>"  # type: ignore[union-attr]


async def test_an_invalid_address_is_a_permanent_failure() -> None:
    with pytest.raises(DeliveryError) as failure:
        await SmtpMailer(NotifierSettings()).send(
            Email(to="bad\naddress", subject="s", text="t", html="h", idempotency_key="k", date=AT)
        )
    assert failure.value.permanent


def test_not_5_every_email_carries_a_date_header_in_rfc_5322_form() -> None:
    """RFC 5322 3.6: a Date: is required; it is the courier's clock, in UTC."""
    message = SmtpMailer(NotifierSettings()).build(
        Email(to="a@example.com", subject="s", text="t", html="h", idempotency_key="k", date=AT)
    )
    assert message["Date"] == "Sun, 22 Nov 2026 08:30:05 +0000"
    assert parsedate_to_datetime(message["Date"]) == AT


def test_the_lease_outlives_a_send() -> None:
    """A sender gives up after half the lease, so a claim never passes to another worker
    while its sender is still talking to the provider."""
    with pytest.raises(ValueError, match="DELIVERY_LEASE_S"):
        NotifierSettings(delivery_lease_s=5.0, smtp_timeout_s=10.0)


def test_the_sms_transport_takes_its_proxy_from_the_environment_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As httpx did: HTTPS_PROXY for the provider, NO_PROXY honoured."""
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "sms.internal")
    transport = AiohttpTransport(timeout_s=1, connections=1)
    assert transport._proxy("https://sms.example.com/send") == "http://proxy.internal:3128"
    assert transport._proxy("https://sms.internal/send") is None
    monkeypatch.delenv("HTTPS_PROXY")
    # Looked up once per URL, not per request.
    assert transport._proxy("https://sms.example.com/send") == "http://proxy.internal:3128"
