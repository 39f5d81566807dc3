"""Issue 11's story with the four services as OS processes over the embedded broker, the mail
and SMS sinks, and the facts published by `account-center-produce`:

register, bind WeChat, verify the real name, billing reports a balance, apply (refused),
settle, apply, withdraw, apply, a late bill rejects, settle, apply, the cooling-off ends,
every service confirms its erasure, and a search of every database, Redis key and topic of
the run finds neither the email, the phone nor the ID number (CAN-7); the same email then
registers a new account (REG-5), and the applicant heard of every step (CAN-8)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from devkit.mailsink import MailSink
from devkit.smssink import SmsSink
from devkit.testing.accounts import UNLIMITED_CODES, register_by_email
from devkit.testing.codes import code_sent_to, requests_now
from devkit.testing.erasure_search import search_databases, search_redis, search_topics
from devkit.testing.facts import produce
from devkit.testing.infra import Scope
from devkit.testing.kafka import read_all
from devkit.testing.people import resident_id
from devkit.testing.services import ServiceProcess, service_processes
from devkit.testing.waiting import eventually
from shared.events import Topic

pytestmark = pytest.mark.e2e

EMAIL = "erin.story@example.com"
PHONE = "+8613900000777"
ID_NUMBER = resident_id(date(1990, 3, 7), serial=77)
PASSWORD = "Secr3t!pass"
OPERATOR = {"authorization": "Bearer e2e-operator-token", "x-operator-id": "ops-7"}
COOLING_OFF_S = 4
ALL = ["identity", "verification", "cancellation", "notifier"]


class Person:
    """Erin, at the console: the four services' HTTP APIs and the codes she receives."""

    def __init__(self, scope: Scope, procs: dict[str, ServiceProcess]) -> None:
        self.scope = scope
        self.identity = httpx.AsyncClient(base_url=procs["identity"].url, timeout=30)
        self.verification = httpx.AsyncClient(base_url=procs["verification"].url, timeout=30)
        self.cancellation = httpx.AsyncClient(base_url=procs["cancellation"].url, timeout=30)
        self.auth: dict[str, str] = {}

    async def close(self) -> None:
        for client in (self.identity, self.verification, self.cancellation):
            await client.aclose()

    async def register(self) -> httpx.Response:
        """REG-2, REG-3: by email, with the secure phone, reading both codes where sent."""
        return await register_by_email(
            self.identity,
            kafka=self.scope.infra.kafka,
            topic_prefix=self.scope.prefix,
            email=EMAIL,
            phone=PHONE,
            password=PASSWORD,
            language="en",
        )

    async def requests_now(self) -> frozenset[uuid.UUID]:
        return await requests_now(self.scope.infra.kafka, self.scope.prefix)

    async def code(self, destination: str, purpose: str, *, besides: frozenset[uuid.UUID]) -> str:
        """The code just asked for (not one of the requests in `besides`, on the topic before)."""
        return await code_sent_to(
            self.scope.infra.kafka, self.scope.prefix, destination, purpose, besides=besides
        )

    async def log_in(self) -> httpx.Response:
        reply = await self.identity.post(
            "/v1/sessions", json={"method": "password", "email": EMAIL, "password": PASSWORD}
        )
        if reply.status_code == 201:
            self.auth = {"authorization": f"Bearer {reply.json()['access_token']}"}
        return reply

    async def step_up(self) -> None:
        """PROT-1: a fresh second factor (an SMS code), which cancellation checks offline."""
        login = await self.log_in()
        assert login.status_code == 201, login.text
        started = await self.identity.post("/v1/me/step-up", headers=self.auth)
        assert started.status_code == 201, started.text
        flow = started.json()["flow"]["id"]
        earlier = await self.requests_now()
        sent = await self.identity.post(
            f"/v1/flows/{flow}/codes", json={"channel": "sms"}, headers=self.auth
        )
        assert sent.status_code == 202, sent.text
        done = await self.identity.post(
            f"/v1/flows/{flow}/complete",
            json={
                "factor": "sms",
                "code": await self.code(PHONE, "second_factor", besides=earlier),
            },
            headers=self.auth,
        )
        assert done.status_code == 200, done.text
        self.auth = {"authorization": f"Bearer {done.json()['access_token']}"}

    async def apply(self) -> httpx.Response:
        await self.step_up()
        return await self.cancellation.post("/v1/cancellation", headers=self.auth)

    async def application(self) -> dict[str, Any]:
        login = await self.log_in()
        assert login.status_code == 201, login.text
        reply = await self.cancellation.get("/v1/cancellation", headers=self.auth)
        assert reply.status_code == 200, reply.text
        found: dict[str, Any] = reply.json()
        return found

    async def billing(self, account: str, **owed: int) -> None:
        fields = {"overdue_fen": 0, "advance_payment_fen": 0, "balance_fen": 0, "vouchers": 0}
        fields |= {"pending_orders": 0} | owed
        args = [f"--{k.replace('_', '-')}={v}" for k, v in fields.items()]
        produced = await produce(self.scope, "BillingStanding", f"--account-id={account}", *args)
        assert produced.code == 0, produced.err


async def test_can_1_to_can_8_a_person_cancels_and_nothing_of_them_remains(
    scope: Scope, sink: MailSink, sms: SmsSink, tmp_path: Path
) -> None:
    env = {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": sink.port,
        "SMS_API_URL": sms.url,
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_KIB": 1024,
        "DEV_MODE": "true",  # the fake providers: WeChat, the face check, the captcha
        "OPERATOR_TOKEN": OPERATOR["authorization"].removeprefix("Bearer "),
        "COOLING_OFF_S": COOLING_OFF_S,
        "TIMER_POLL_INTERVAL_S": 0.2,
        **{k.upper(): v for k, v in UNLIMITED_CODES.items()},
    }
    with service_processes(ALL, scope.env(**env), tmp_path) as procs:
        erin = Person(scope, procs)
        try:
            await story(erin, scope, sink, sms)
        finally:
            await erin.close()


async def story(erin: Person, scope: Scope, sink: MailSink, sms: SmsSink) -> None:
    # 1. Register (REG-2, REG-3) and bind WeChat through the fake provider (LM-7).
    registered = await erin.register()
    assert registered.status_code == 201, registered.text
    account = registered.json()["account_id"]
    await erin.log_in()
    assertion = await erin.identity.post(
        "/v1/dev/assertions", json={"kind": "wechat", "unionid": "union-erin-story"}
    )
    earlier = await erin.requests_now()
    sent = await erin.identity.post(
        "/v1/me/verification-codes", json={"channel": "sms"}, headers=erin.auth
    )
    assert sent.status_code == 202, sent.text
    bound = await erin.identity.post(
        "/v1/me/login-methods",
        json={
            "kind": "wechat",
            "assertion": assertion.json()["assertion"],
            "verification": {
                "channel": "sms",
                "code": await erin.code(PHONE, "verify_identity", besides=earlier),
            },
        },
        headers=erin.auth,
    )
    assert bound.status_code in (200, 201), bound.text

    # 2. The real name, after a step-up (RN-2, RN-3, PROT-1).
    await erin.step_up()
    verified = await erin.verification.post(
        "/v1/real-name/personal",
        json={"method": "face", "region": "mainland", "name": "张三", "document_number": ID_NUMBER},
        headers=erin.auth,
    )
    assert verified.status_code in (200, 201), verified.text
    assert verified.json()["status"] == "verified"

    # 3. The four systems report; billing holds a balance: refused with its reason (CAN-2).
    async def known() -> bool:
        reply = await erin.cancellation.get("/v1/cancellation/preconditions", headers=erin.auth)
        return reply.status_code == 200

    await eventually(known, what="the account in cancellation")
    await erin.billing(account, balance_fen=3700)
    for fact in (
        ["ResourcesStanding", "--resources-in-use=0", "--products=[]"],
        ["CamStanding", "--collaborators=0", "--sub-users=0", "--message-recipients=0"],
        ["ComplaintsStanding", "--open-cases=[]"],
    ):
        produced = await produce(scope, fact[0], f"--account-id={account}", *fact[1:])
        assert produced.code == 0, produced.err

    async def reasons_now() -> list[str] | None:
        reply = await erin.cancellation.get("/v1/cancellation/preconditions", headers=erin.auth)
        codes = [r["code"] for r in reply.json()["reasons"]]
        return codes if not any(c.endswith("_UNKNOWN") for c in codes) else None

    assert await eventually(reasons_now, what="every system reported") == ["CASH_BALANCE"]
    refused = await erin.apply()
    assert refused.status_code == 409, refused.text
    assert [r["code"] for r in refused.json()["error"]["details"]["reasons"]] == ["CASH_BALANCE"]

    # 4. Settle, apply, withdraw (CAN-4, CAN-5).
    await erin.billing(account)
    await eventually(_empty(reasons_now), what="the settled balance")
    applied = await erin.apply()
    assert applied.status_code == 201, applied.text
    withdrawn = await _eventually_withdraw(erin)
    assert withdrawn["state"] == "withdrawn"

    # 5. Apply again; a late bill during the cooling-off rejects it (CAN-6).
    applied = await erin.apply()
    assert applied.status_code == 201, applied.text
    await erin.billing(account, overdue_fen=12050)

    async def rejected() -> dict[str, Any] | None:
        found = await erin.application()
        return found if found["state"] == "rejected" else None

    late = await eventually(rejected, timeout_s=60, what="the rejection for the late bill")
    assert late["reasons"] == ["ARREARS"]

    # 6. Settle and apply once more; the cooling-off ends and the account is cancelled (CAN-7).
    await erin.billing(account)
    await eventually(_empty(reasons_now), what="the settled bill")
    final = await erin.apply()
    assert final.status_code == 201, final.text
    application_id = final.json()["application_id"]

    async def erased() -> dict[str, Any] | None:
        reply = await erin.cancellation.get(
            f"/v1/operator/cancellations/{application_id}", headers=OPERATOR
        )
        assert reply.status_code == 200, reply.text
        body: dict[str, Any] = reply.json()
        return body if body.get("erasure_complete") else None

    record = await eventually(erased, timeout_s=90, what="every service confirmed its erasure")
    assert record["state"] == "completed"
    assert set(record["erasure"]) == {"identity", "verification", "notifier", "cancellation"}
    assert all(record["erasure"].values())
    assert (await erin.log_in()).status_code in (401, 403)  # CAN-7: no login any more

    # 7. CAN-8: the applicant heard of every step, by SMS and by email, before the erasure.
    for subject_part in ("received", "withdrawn", "rejected", "cancelled"):

        def told(m: Any, part: str = subject_part) -> bool:
            return EMAIL in m.rcpt_to and part in m.subject.lower()

        await asyncio.to_thread(sink.wait_for, told, 30.0)
    rejection = [m for m in sink.snapshot() if "rejected" in m.subject.lower()]
    assert "arrears" in rejection[0].text.lower()  # the reason, in words
    texts = [m for m in sms.snapshot() if m.phone_number == PHONE]
    assert len({m.template_id for m in texts if m.template_id.startswith("cancellation_")}) == 4

    # 8. CAN-7: nothing of Erin remains in any database, Redis key or topic of the run.
    needles = [EMAIL, PHONE, PHONE.removeprefix("+86"), ID_NUMBER]
    findings = await search_databases(scope.infra.postgres_dsn, scope.prefix, needles)
    findings += await search_redis(scope.infra.redis_url, scope.prefix, needles)
    # The two topics that must carry a destination in clear are erased by the broker
    # (compaction after the tombstone, retention of requests: shared/events/topics.py); the
    # embedded broker does neither, so contacts are checked for the tombstone instead. The
    # requests' dead letters are searched: a dead-lettered request is scrubbed.
    contacts_topic = scope.topic(Topic.IDENTITY_CONTACTS)
    clear_by_design = [
        contacts_topic,
        f"{contacts_topic}.dlq",
        scope.topic(Topic.NOTIFIER_REQUESTS),
    ]
    findings += await search_topics(scope.infra.kafka, scope.prefix, needles, skip=clear_by_design)
    assert findings == [], "\n".join(str(f) for f in findings)
    contacts = await read_all(scope.infra.kafka, scope.topic(Topic.IDENTITY_CONTACTS))
    last = [r for r in contacts if r.key == account.encode()][-1]
    assert last.value is None  # the tombstone: compaction erases every earlier record

    # 9. REG-5: the email and the phone are free again; the new account has a new id.
    again = await erin.register()
    assert again.status_code == 201, again.text
    assert again.json()["account_id"] != account
    # The same search finds the new account's email at once: it sees what is there.
    found = await search_databases(scope.infra.postgres_dsn, scope.prefix, [EMAIL])
    assert any(f.where.endswith("identity.login_methods") for f in found), found


def _empty(
    probe: Callable[[], Awaitable[list[str] | None]],
) -> Callable[[], Awaitable[bool | None]]:
    """A probe that holds when `probe` finds no reason left."""

    async def empty() -> bool | None:
        return True if await probe() == [] else None

    return empty


async def _eventually_withdraw(erin: Person) -> dict[str, Any]:
    """Withdraw once the freeze has reached identity (a frozen account may log in)."""

    async def withdraw() -> dict[str, Any] | None:
        if (await erin.log_in()).status_code != 201:
            return None
        reply = await erin.cancellation.delete("/v1/cancellation", headers=erin.auth)
        if reply.status_code != 200:
            return None
        body: dict[str, Any] = reply.json()
        return body

    return await eventually(withdraw, what="the withdrawal")
