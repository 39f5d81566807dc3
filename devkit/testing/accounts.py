"""Registering an account over HTTP the way a person does: ask for codes, read them, register."""

from __future__ import annotations

import httpx

from devkit.testing.codes import code_sent_to, requests_now
from services.identity.domain.channels import normalise_email, normalise_phone
from shared.tracing import REQUEST_ID_HEADER

TEST_PASSWORD = "Secr3t!pass"

# Identity settings that lift the code budgets (CODE-2) for tests that register many accounts
# from one address; the tests of the budgets set their own.
UNLIMITED_CODES = {
    "code_per_minute": 1000,
    "code_per_day": 100000,
    "code_client_per_hour": 100000,
    "code_sms_prefix_per_hour": 100000,
    "code_sms_global_per_hour": 100000,
}


async def captcha_ticket(client: httpx.AsyncClient, identifier: str) -> str:
    """A solved captcha from identity's dev-mode route, as the captcha widget hands it over."""
    reply = await client.post("/v1/dev/captcha-tickets", json={"identifier": identifier})
    assert reply.status_code == 201, reply.text
    return str(reply.json()["ticket"])


async def register_by_email(
    client: httpx.AsyncClient,
    *,
    kafka: str,
    topic_prefix: str,
    email: str,
    phone: str,
    password: str = TEST_PASSWORD,
    language: str = "zh-CN",
    request_id: str | None = None,
) -> httpx.Response:
    """REG-2/REG-3 over HTTP; the codes are read from their NotificationRequested.
    `request_id` is sent as the registration's X-Request-ID (its correlation id)."""
    # Codes of an earlier registration to these destinations may still be on the topic.
    earlier = await requests_now(kafka, topic_prefix)
    for channel, destination in (("email", email), ("sms", phone)):
        sent = await client.post(
            "/v1/codes",
            json={
                "purpose": "register",
                "channel": channel,
                "destination": destination,
                "language": language,
                "captcha_ticket": await captcha_ticket(client, destination),
            },
        )
        assert sent.status_code == 202, sent.text
    email_code = await code_sent_to(
        kafka, topic_prefix, normalise_email(email), "register", besides=earlier
    )
    phone_code = await code_sent_to(
        kafka, topic_prefix, normalise_phone(phone), "register", besides=earlier
    )
    return await client.post(
        "/v1/accounts",
        json={
            "method": "email",
            "email": email,
            "password": password,
            "email_code": email_code,
            "phone": phone,
            "phone_code": phone_code,
            "language": language,
        },
        headers={REQUEST_ID_HEADER: request_id} if request_id else None,
    )
