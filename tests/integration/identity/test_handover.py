"""REC-3, the employee handover, end to end over identity's HTTP API (its real lifespan,
PostgreSQL, Redis and the broker): every personal login method and secure channel of an
account is replaced by the company's, one step at a time, and the account keeps working
throughout: the session opened before the handover stays valid and a login with a method
still bound succeeds after every step."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from devkit.testing.kafka import read_all
from devkit.testing.waiting import eventually
from shared.events import REGISTRY, NotificationRequested, Topic, decode
from tests.integration.identity.conftest import IdentityApp, new_phone

pytestmark = pytest.mark.integration

COMPANY_PASSWORD = "C0mpany!Pass"

# Each kind's claims for the fake provider: the employee's own, then the company's.
PERSONAL = {
    "wechat": {"unionid": "union-handover-me"},
    "qq": {"openid": "qq-handover-me"},
    "wecom": {"openid": "wecom-handover-me"},
    "official_account": {"app_id": "wx-oa-handover-me", "subtype": "official_account"},
}
COMPANY = {
    "wechat": {"unionid": "union-handover-acme"},
    "qq": {"openid": "qq-handover-acme"},
    "wecom": {"openid": "wecom-handover-acme"},
    "official_account": {"app_id": "wx-oa-handover-acme", "subtype": "official_account"},
}


class Employee:
    """The person at the console: one session opened before the handover, and codes read
    where they were sent (each one waited for by count, so an earlier code is never taken
    for the one just asked for)."""

    def __init__(self, identity: IdentityApp, session: dict[str, str]) -> None:
        self.identity = identity
        self.client = identity.client
        self.session = session

    async def codes_to(self, destination: str, purpose: str) -> list[str]:
        topic = self.identity.scope.topic(Topic.NOTIFIER_REQUESTS)
        records = await read_all(self.identity.kafka, topic)
        envelopes = [decode(r.value, REGISTRY) for r in records if r.value is not None]
        return [
            e.payload.params["code"]
            for e in sorted(envelopes, key=lambda e: e.occurred_at)
            if isinstance(e.payload, NotificationRequested)
            and e.payload.destination == destination
            and e.payload.params.get("purpose") == purpose
        ]

    async def next_code(self, destination: str, purpose: str, send: Any) -> str:
        """Send a code (the coroutine `send`) and read that code, not an earlier one."""
        before = len(await self.codes_to(destination, purpose))
        reply = await send
        assert reply.status_code == 202, reply.text

        async def arrived() -> list[str]:
            codes = await self.codes_to(destination, purpose)
            return codes if len(codes) > before else []

        return (await eventually(arrived, what=f"a {purpose} code to {destination}"))[-1]

    async def settings(self) -> dict[str, Any]:
        reply = await self.client.get("/v1/me/settings", headers=self.session)
        assert reply.status_code == 200, reply.text
        return dict(reply.json())

    async def proof(self, channel: str = "sms") -> dict[str, str]:
        """PROT-2: identity verification by a code to the current secure phone or email."""
        settings = await self.settings()
        destination = settings["secure_phone"] if channel == "sms" else settings["secure_email"]
        send = self.client.post(
            "/v1/me/verification-codes", json={"channel": channel}, headers=self.session
        )
        return {
            "channel": channel,
            "code": await self.next_code(destination, "verify_identity", send),
        }

    async def new_destination_code(self, purpose: str, channel: str, destination: str) -> str:
        return await self.next_code(
            destination, purpose, self.identity.send_code(purpose, channel, destination)
        )

    async def bind(self, kind: str, claims: dict[str, str]) -> None:
        body = {
            "kind": kind,
            "assertion": await self.identity.assertion(kind, **claims),
            "verification": await self.proof(),
        }
        reply = await self.client.post("/v1/me/login-methods", json=body, headers=self.session)
        assert reply.status_code == 201, reply.text

    async def unbind(self, kind: str) -> None:
        reply = await self.client.post(
            f"/v1/me/login-methods/{kind}/unbind", json=await self.proof(), headers=self.session
        )
        assert reply.status_code == 204, reply.text

    async def methods(self) -> dict[str, str]:
        reply = await self.client.get("/v1/me", headers=self.session)
        assert reply.status_code == 200, reply.text  # the first session still works
        return {m["kind"]: m["display"] for m in reply.json()["login_methods"]}

    async def login_third_party(self, kind: str, claims: dict[str, str]) -> httpx.Response:
        assertion = await self.identity.assertion(kind, **claims)
        return await self.client.post("/v1/sessions", json={"method": kind, "assertion": assertion})

    async def still_works(self, account_id: str, kind: str, claims: dict[str, str]) -> None:
        """The old session answers, and a login with a method still bound gives a session
        of this account."""
        assert (await self.client.get("/v1/me", headers=self.session)).status_code == 200
        login = await self.login_third_party(kind, claims)
        assert login.status_code == 201, login.text
        token = {"authorization": f"Bearer {login.json()['access_token']}"}
        me = await self.client.get("/v1/me", headers=token)
        assert me.json()["account_id"] == account_id


async def test_rec_3_employee_handover_keeps_the_account_working_throughout(
    identity: IdentityApp,
) -> None:
    """REC-3: an account with email, WeChat, QQ, WeCom and Official Account and a personal
    secure phone (and email) is handed over: each personal method is unbound and the
    company's bound (each step after identity verification, LM-3), the secure email and
    phone become the company's (SEC-2, SEC-3); after every step the session opened at the
    start works and a login with a remaining method works. At the end nothing personal is
    left: the personal identities log in nowhere, the personal phone finds no account
    (REC-1), and verification codes go to the company's phone."""
    personal_email, company_email = "me.handover@example.com", "it.handover@acme.example"
    personal_phone, company_phone = new_phone(), new_phone()
    registered = await identity.register_email(personal_email, phone=personal_phone)
    assert registered.status_code == 201, registered.text
    account_id = registered.json()["account_id"]
    me = Employee(identity, await identity.token(personal_email))
    for kind, claims in PERSONAL.items():
        await me.bind(kind, claims)
    assert sorted(await me.methods()) == ["email", "official_account", "qq", "wechat", "wecom"]

    # Third-party methods, one at a time: unbind the personal one (another still logs in),
    # bind the company's (which logs in at once).
    for kind in PERSONAL:
        await me.unbind(kind)
        assert kind not in await me.methods()
        assert (await identity.login(personal_email)).status_code == 201
        refused = await me.login_third_party(kind, PERSONAL[kind])
        assert refused.json()["error"]["code"] == "LOGIN_METHOD_NOT_REGISTERED"
        await me.bind(kind, COMPANY[kind])
        await me.still_works(account_id, kind, COMPANY[kind])

    # The login email: the personal one goes (the company WeChat still logs in), the
    # company's comes with its own password (LM-6).
    await me.unbind("email")
    await me.still_works(account_id, "wechat", COMPANY["wechat"])
    assert (await identity.login(personal_email)).json()["error"]["code"] == ("INVALID_CREDENTIALS")
    bind_email = {
        "kind": "email",
        "email": company_email,
        "password": COMPANY_PASSWORD,
        "email_code": await me.new_destination_code("bind_email", "email", company_email),
        "verification": await me.proof(),
    }
    bound = await identity.client.post("/v1/me/login-methods", json=bind_email, headers=me.session)
    assert bound.status_code == 201, bound.text
    assert (await identity.login(company_email, COMPANY_PASSWORD)).status_code == 201
    await me.still_works(account_id, "qq", COMPANY["qq"])

    # The secure email (proven old and new, SEC-3), then the secure phone (SEC-2).
    new_email = {
        "verification": await me.proof("email"),
        "new_email": company_email,
        "new_email_code": await me.new_destination_code(
            "change_secure_email", "email", company_email
        ),
    }
    changed = await identity.client.put("/v1/me/secure-email", json=new_email, headers=me.session)
    assert changed.status_code == 200, changed.text
    await me.still_works(account_id, "wecom", COMPANY["wecom"])
    new_phone_body = {
        "verification": await me.proof("sms"),
        "new_phone": company_phone,
        "new_phone_code": await me.new_destination_code(
            "change_secure_phone", "sms", company_phone
        ),
    }
    changed = await identity.client.put(
        "/v1/me/secure-phone", json=new_phone_body, headers=me.session
    )
    assert changed.status_code == 200, changed.text
    await me.still_works(account_id, "official_account", COMPANY["official_account"])
    assert (await identity.login(company_email, COMPANY_PASSWORD)).status_code == 201

    # Nothing personal is left.
    settings = await me.settings()
    assert (settings["secure_phone"], settings["secure_email"]) == (company_phone, company_email)
    methods = await me.methods()
    assert sorted(methods) == ["email", "official_account", "qq", "wechat", "wecom"]
    assert methods["email"] == "i***@acme.example"
    for kind, claims in PERSONAL.items():
        refused = await me.login_third_party(kind, claims)
        assert refused.json()["error"]["code"] == "LOGIN_METHOD_NOT_REGISTERED", kind
    assert (await identity.login(personal_email)).json()["error"]["code"] == ("INVALID_CREDENTIALS")
    lookup_code = await me.new_destination_code("find_accounts", "sms", personal_phone)
    found = await identity.client.post(
        "/v1/recovery/accounts", json={"phone": personal_phone, "code": lookup_code}
    )
    assert found.json() == {"accounts": []}
    assert (await me.proof("sms"))["code"]  # read at the company's phone
