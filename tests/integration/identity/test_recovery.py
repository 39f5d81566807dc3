"""Recovery (REC-1, REC-2) over HTTP: finding the accounts of a proven secure phone, appeals
and the operator's decisions, against real PostgreSQL, Redis and the broker."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from devkit.testing.infra import Infra
from devkit.testing.kafka import read_all
from devkit.testing.waiting import eventually
from services.identity.adapters.tables import devices, mfa_devices, operator_actions
from services.identity.domain.recovery import mask_account_id
from services.identity.service_layer import recovery
from services.identity.service_layer.accounts import apply_status
from shared.events import (
    REGISTRY,
    AppealDecided,
    AppealReceived,
    LoginMethodBound,
    LoginMethodUnbound,
    MfaUnbound,
    NotificationRequested,
    Topic,
    decode,
)
from tests.integration.identity.conftest import (
    IdentityApp,
    identity_app,
    new_phone,
    without_codes,
    wrong,
)

pytestmark = pytest.mark.integration

TOKEN = "op-recovery-secret"
OPERATOR = {"authorization": f"Bearer {TOKEN}", "x-operator-id": "emp-42"}
NEW_PASSWORD = "N3w!Passw0rd"
UNKNOWN_ACCOUNT = "99999999999"  # below the account sequence's first value: never an account


@pytest.fixture(scope="module")
async def rec(infra: Infra) -> AsyncIterator[IdentityApp]:
    """One identity with an operator credential for the module (starting one costs seconds)."""
    async with identity_app(infra.scope(), operator_token=TOKEN) as app:
        yield app


def error(reply: httpx.Response) -> str:
    return str(reply.json()["error"]["code"])


async def find(rec: IdentityApp, phone: str, code: str) -> httpx.Response:
    return await rec.client.post("/v1/recovery/accounts", json={"phone": phone, "code": code})


async def find_code(rec: IdentityApp, phone: str) -> str:
    assert (await rec.send_code("find_accounts", "sms", phone)).status_code == 202
    return await rec.code(phone, "find_accounts")


async def appeal(
    rec: IdentityApp, account_id: str, email: str, *, reset_mfa: bool = False, **extra: Any
) -> httpx.Response:
    """REC-2 as the applicant does it: a code to the new email, then the appeal."""
    sent = await rec.send_code("appeal_email", "email", email)
    assert sent.status_code == 202, sent.text
    body = {
        "account_id": account_id,
        "email": email,
        "email_code": await rec.code(email, "appeal_email"),
        "password": NEW_PASSWORD,
        "reset_mfa": reset_mfa,
        "statement": "I lost my phone and my WeChat; my ID card number ends in 1234.",
        **extra,
    }
    return await rec.client.post("/v1/recovery/appeals", json=body)


async def pending(rec: IdentityApp) -> list[dict[str, Any]]:
    reply = await rec.client.get("/v1/operator/appeals", headers=OPERATOR)
    assert reply.status_code == 200, reply.text
    return list(reply.json()["appeals"])


async def events_of(rec: IdentityApp, account_id: str, *types: type, count: int) -> list[Any]:
    """The account's identity events of these types, once `count` of them are published."""

    async def found() -> list[Any]:
        payloads = [
            e.payload
            for e in await rec.events()
            if e.account_id == account_id and isinstance(e.payload, types)
        ]
        return payloads if len(payloads) >= count else []

    return await eventually(found, what=f"{count} of {types} for {account_id}")


async def requested_to(rec: IdentityApp, destination: str, message_type: str) -> list[Any]:
    async def found() -> list[Any]:
        records = await read_all(rec.kafka, rec.scope.topic(Topic.NOTIFIER_REQUESTS))
        envelopes = [decode(r.value, REGISTRY) for r in records if r.value is not None]
        return [
            e
            for e in envelopes
            if isinstance(e.payload, NotificationRequested)
            and e.payload.destination == destination
            and e.payload.message_type == message_type
        ]

    return await eventually(found, what=f"{message_type} to {destination}")


async def actions_of(rec: IdentityApp, account_id: str) -> list[tuple[str, str, str | None]]:
    async with rec.ctx.runtime.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(
                operator_actions.c.operator_id, operator_actions.c.action, operator_actions.c.reason
            )
            .where(operator_actions.c.account_id == str(account_id))
            .order_by(operator_actions.c.id)
        )
        return [(r.operator_id, r.action, r.reason) for r in rows]


# REC-1 ------------------------------------------------------------------------------------


async def test_rec_1_a_proven_phone_lists_its_accounts_masked(rec: IdentityApp) -> None:
    """REC-1: after the phone's code, the accounts it guards: masked id, login methods
    (masked), registration date; nothing in clear. The code works once."""
    phone = new_phone()
    by_email = await rec.register_email("rec1.ann@example.com", phone=phone)
    by_wechat = await rec.register_third_party("wechat", phone=phone, unionid="union-rec1-ann")
    ids = [by_email.json()["account_id"], by_wechat.json()["account_id"]]
    code = await find_code(rec, phone)
    reply = await find(rec, phone, code)
    assert reply.status_code == 200, reply.text
    found = reply.json()["accounts"]
    assert [a["account_id"] for a in found] == [mask_account_id(i) for i in ids]
    assert all(re.fullmatch(r"\d{4}\*{4}\d{4}", a["account_id"]) for a in found)
    assert [m["kind"] for m in found[0]["login_methods"]] == ["email"]
    assert found[0]["login_methods"][0]["display"] == "r***@example.com"
    assert [m["kind"] for m in found[1]["login_methods"]] == ["wechat"]
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", a["registered_on"]) for a in found)
    for secret in (*ids, "rec1.ann@example.com", "union-rec1-ann", phone):
        assert secret not in reply.text
    assert error(await find(rec, phone, code)) == "CODE_EXPIRED"  # single use (CODE-1)


async def test_rec_1_nothing_is_told_before_the_code_is_right(rec: IdentityApp) -> None:
    """REC-1, enumeration: wrong codes answer alike for a phone with accounts and one
    without, spend the code's own 5 tries (CODE-1); a right code for a phone without accounts
    lists none."""
    guarded, unguarded = new_phone(), new_phone()
    await rec.register_email("rec1.bob@example.com", phone=guarded)
    assert error(await find(rec, guarded, "123456")) == "CODE_EXPIRED"  # none sent yet
    assert error(await find(rec, unguarded, "123456")) == "CODE_EXPIRED"
    codes = {phone: await find_code(rec, phone) for phone in (guarded, unguarded)}
    answers = {
        phone: [(await find(rec, phone, wrong(code))).json() for _ in range(5)]
        for phone, code in codes.items()
    }
    assert answers[guarded] == answers[unguarded]
    assert [a["error"]["details"]["tries_left"] for a in answers[guarded]] == [4, 3, 2, 1, 0]
    assert error(await find(rec, guarded, codes[guarded])) == "CODE_TOO_MANY_TRIES"
    other = new_phone()
    code = await find_code(rec, other)
    assert error(await find(rec, other, wrong(code))) == "CODE_INVALID"
    reply = await find(rec, other, code)
    assert reply.status_code == 200 and reply.json() == {"accounts": []}


async def test_rec_1_rec_2_codes_go_by_their_channel_only(rec: IdentityApp) -> None:
    """A find_accounts code proves a phone, an appeal_email code an email: the other channel
    is refused before any budget is spent."""
    to_email = await rec.send_code("find_accounts", "email", "rec1.cat@example.com")
    assert error(to_email) == "CODE_CHANNEL_UNSUPPORTED"
    assert to_email.json()["error"]["details"] == {"channel": "sms"}
    to_phone = await rec.send_code("appeal_email", "sms", new_phone())
    assert error(to_phone) == "CODE_CHANNEL_UNSUPPORTED"


# REC-2 ------------------------------------------------------------------------------------


async def test_rec_2_approval_binds_the_email_resets_mfa_and_ends_old_sessions(
    rec: IdentityApp,
) -> None:
    """REC-2: an account that can no longer log in (WeChat only, MFA bound) appeals with a
    new email; the secure channels hear of it; on approval the applicant logs in with the new
    email and password, the MFA device is gone, no device is trusted, old sessions ended;
    the decision reaches the new email and the audit trail names the operator."""
    reply = await rec.register_third_party("wechat", unionid="union-rec2-dan")
    account_id = reply.json()["account_id"]
    login = await rec.client.post(
        "/v1/sessions",
        json={
            "method": "wechat",
            "assertion": await rec.assertion("wechat", unionid="union-rec2-dan"),
        },
    )
    old = {"authorization": f"Bearer {login.json()['access_token']}"}
    now = rec.ctx.now()
    async with rec.ctx.runtime.engine.begin() as conn:
        await conn.execute(
            mfa_devices.insert().values(
                account_id=int(account_id),
                state="active",
                secret_ciphertext=b"sealed",
                key_id="k1",
                created_at=now,
                activated_at=now,
            )
        )
        await conn.execute(
            devices.insert().values(
                device_pk=uuid.uuid4(),
                account_id=int(account_id),
                credential_hash=uuid.uuid4().hex,
                first_seen_at=now,
                last_seen_at=now,
                trusted_until=now.replace(year=now.year + 1),
            )
        )
    filed = await appeal(rec, account_id, "rec2.dan@example.com", reset_mfa=True)
    assert filed.status_code == 202, filed.text
    appeal_id = filed.json()["appeal_id"]
    assert filed.json() == {"appeal_id": appeal_id, "status": "pending"}
    [received] = await events_of(rec, account_id, AppealReceived, count=1)
    assert (received.appeal_id, received.email_masked, received.reset_mfa) == (
        appeal_id,
        "r***@example.com",
        True,
    )
    queued = [a for a in await pending(rec) if a["appeal_id"] == appeal_id]
    assert queued[0]["email"] == "rec2.dan@example.com" and queued[0]["reset_mfa"] is True
    assert "ID card" in queued[0]["statement"]
    assert "password" not in str(queued[0])
    assert (await rec.client.get("/v1/me", headers=old)).status_code == 200  # pending: as was

    approved = await rec.client.post(
        f"/v1/operator/appeals/{appeal_id}/approve",
        json={"reason": "ID card matches the real-name record."},
        headers=OPERATOR,
    )
    assert approved.status_code == 200, approved.text
    assert approved.json() == {"appeal_id": appeal_id, "status": "approved"}

    assert error(await rec.client.get("/v1/me", headers=old)) == "UNAUTHENTICATED"
    new = await rec.token("rec2.dan@example.com", NEW_PASSWORD)
    me = (await rec.client.get("/v1/me", headers=new)).json()
    assert me["account_id"] == account_id
    settings = (await rec.client.get("/v1/me/settings", headers=new)).json()
    assert settings["secure_email"] == "rec2.dan@example.com"  # it had none (PWD-3)
    assert sorted(m["kind"] for m in me["login_methods"]) == ["email", "wechat"]
    async with rec.ctx.runtime.engine.connect() as conn:
        assert (
            await conn.scalar(
                sa.select(sa.func.count()).where(mfa_devices.c.account_id == int(account_id))
            )
            == 0
        )
        assert (
            await conn.scalar(
                sa.select(sa.func.count()).where(
                    devices.c.account_id == int(account_id), devices.c.trusted_until.is_not(None)
                )
            )
            == 0
        )
    [unbound] = await events_of(rec, account_id, MfaUnbound, count=1)
    assert unbound.by == "operator"
    bound = await events_of(rec, account_id, LoginMethodBound, count=1)
    assert [(b.kind, b.identifier_masked) for b in bound if b.kind == "email"] == [
        ("email", "r***@example.com")
    ]
    [decided] = await events_of(rec, account_id, AppealDecided, count=1)
    assert (decided.appeal_id, decided.approved) == (appeal_id, True)
    assert decided.reason == "ID card matches the real-name record."
    [told] = await requested_to(rec, "rec2.dan@example.com", "appeal_decided")
    assert told.account_id == account_id
    assert told.payload.params == {
        "appeal_id": appeal_id,
        "decision": "approved",
        "reason": "ID card matches the real-name record.",
        "email": "r***@example.com",
        "at": decided.decided_at.strftime("%Y-%m-%d %H:%M UTC"),
    }
    assert await actions_of(rec, account_id) == [
        ("emp-42", "appeal_approved", "ID card matches the real-name record."),
        ("emp-42", "mfa_unbind", "ID card matches the real-name record."),
    ]
    again = await rec.client.post(f"/v1/operator/appeals/{appeal_id}/approve", headers=OPERATOR)
    assert error(again) == "APPEAL_ALREADY_DECIDED"
    late = await rec.client.post(
        f"/v1/operator/appeals/{appeal_id}/reject", json={"reason": "no"}, headers=OPERATOR
    )
    assert error(late) == "APPEAL_ALREADY_DECIDED"
    assert appeal_id not in [a["appeal_id"] for a in await pending(rec)]


async def test_rec_2_approval_closes_the_accounts_half_done_login_flows(rec: IdentityApp) -> None:
    """REC-2: a login flow begun before the approval (someone had the password and waits
    for a second factor) cannot be completed after it: the approval ends flows as it ends
    sessions."""
    phone = new_phone()
    reply = await rec.register_email("rec2.flow.old@example.com", phone=phone)
    account_id = str(reply.json()["account_id"])
    auth = await rec.token("rec2.flow.old@example.com")
    turned = await rec.client.put(
        "/v1/me/protection", json={"login_protection": True}, headers=auth
    )
    assert turned.status_code == 200, turned.text
    half = await rec.login("rec2.flow.old@example.com")
    assert half.status_code == 202, half.text
    flow_id = half.json()["flow"]["id"]
    sent = await rec.client.post(f"/v1/flows/{flow_id}/codes", json={"channel": "sms"})
    assert sent.status_code == 202, sent.text
    code = await rec.code(phone, "second_factor")

    filed = await appeal(rec, account_id, "rec2.flow.new@example.com")
    assert filed.status_code == 202, filed.text
    approved = await rec.client.post(
        f"/v1/operator/appeals/{filed.json()['appeal_id']}/approve", headers=OPERATOR
    )
    assert approved.status_code == 200, approved.text

    late = await rec.client.post(
        f"/v1/flows/{flow_id}/complete", json={"factor": "sms", "code": code}
    )
    assert (late.status_code, error(late)) == (410, "FLOW_EXPIRED")
    shown = await rec.client.get(f"/v1/flows/{flow_id}")
    assert shown.json()["flow"]["state"] == "expired"
    fresh = await rec.login("rec2.flow.new@example.com", NEW_PASSWORD)
    assert fresh.status_code == 202, fresh.text  # protection stays on: a new flow, pending
    assert fresh.json()["flow"]["state"] == "pending"


async def test_rec_2_approval_replaces_the_accounts_login_email(rec: IdentityApp) -> None:
    """REC-2: an account that logs in by email gets the appeal's email instead (one email
    method, LM-1): the old email and password stop working, the new ones work."""
    reply = await rec.register_email("rec2.eve.old@example.com")
    account_id = reply.json()["account_id"]
    filed = await appeal(rec, account_id, "rec2.eve.new@example.com")
    assert filed.status_code == 202, filed.text
    approved = await rec.client.post(
        f"/v1/operator/appeals/{filed.json()['appeal_id']}/approve", headers=OPERATOR
    )
    assert approved.status_code == 200, approved.text
    assert error(await rec.login("rec2.eve.old@example.com")) == "INVALID_CREDENTIALS"
    assert (await rec.login("rec2.eve.new@example.com", NEW_PASSWORD)).status_code == 201
    [unbound] = await events_of(rec, account_id, LoginMethodUnbound, count=1)
    assert unbound.identifier_masked == "r***@example.com"
    assert await actions_of(rec, account_id) == [("emp-42", "appeal_approved", None)]


async def test_rec_2_rejection_changes_nothing_and_tells_the_applicant(rec: IdentityApp) -> None:
    """REC-2: a rejection needs a reason; the account keeps its methods, password and
    sessions; the reason reaches the appeal's email; the account may appeal again."""
    reply = await rec.register_email("rec2.fay@example.com")
    account_id = reply.json()["account_id"]
    session = await rec.token("rec2.fay@example.com")
    filed = await appeal(rec, account_id, "rec2.fay.new@example.com")
    appeal_id = filed.json()["appeal_id"]
    path = f"/v1/operator/appeals/{appeal_id}/reject"
    assert error(await rec.client.post(path, json={}, headers=OPERATOR)) == (
        "DECISION_REASON_REQUIRED"
    )
    assert error(await rec.client.post(path, json={"reason": "x" * 501}, headers=OPERATOR)) == (
        "INVALID_REQUEST"
    )
    reason = "The statement does not match the account's history."
    rejected = await rec.client.post(path, json={"reason": reason}, headers=OPERATOR)
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    assert (await rec.client.get("/v1/me", headers=session)).status_code == 200
    assert (await rec.login("rec2.fay@example.com")).status_code == 201
    assert error(await rec.login("rec2.fay.new@example.com", NEW_PASSWORD)) == (
        "INVALID_CREDENTIALS"
    )
    [decided] = await events_of(rec, account_id, AppealDecided, count=1)
    assert (decided.approved, decided.reason) == (False, reason)
    [told] = await requested_to(rec, "rec2.fay.new@example.com", "appeal_decided")
    assert (told.payload.params["decision"], told.payload.params["reason"]) == ("rejected", reason)
    assert await actions_of(rec, account_id) == [("emp-42", "appeal_rejected", reason)]
    assert error(await rec.client.post(path, json={"reason": "again"}, headers=OPERATOR)) == (
        "APPEAL_ALREADY_DECIDED"
    )
    assert (await appeal(rec, account_id, "rec2.fay.new@example.com")).status_code == 202


async def test_rec_2_one_pending_appeal_per_account_under_concurrency(rec: IdentityApp) -> None:
    """REC-2: eight parallel appeals for one account: exactly one is filed."""
    reply = await rec.register_email("rec2.gus@example.com")
    account_id = int(reply.json()["account_id"])
    ctx = without_codes(rec.ctx)
    results = await asyncio.gather(
        *(
            recovery.file_appeal(
                ctx,
                recovery.Appeal(
                    account_id=account_id,
                    email=f"rec2.gus.{n}@example.com",
                    email_code="000000",
                    password=NEW_PASSWORD,
                    reset_mfa=False,
                    statement="mine",
                ),
            )
            for n in range(8)
        ),
        return_exceptions=True,
    )
    filed = [r for r in results if isinstance(r, dict)]
    refused = [type(r).__name__ for r in results if isinstance(r, Exception)]
    assert len(filed) == 1 and refused == ["AppealPending"] * 7, results
    second = await appeal(rec, str(account_id), "rec2.gus.late@example.com")
    assert error(second) == "APPEAL_PENDING"


async def test_rec_2_two_parallel_approvals_one_wins(rec: IdentityApp) -> None:
    """REC-2: two operators approve the same appeal at once (and a third rejects it): one
    decision wins, the others get 409, one decision is audited and told."""
    reply = await rec.register_email("rec2.hal@example.com")
    account_id = reply.json()["account_id"]
    appeal_id = (await appeal(rec, account_id, "rec2.hal.new@example.com")).json()["appeal_id"]
    base = f"/v1/operator/appeals/{appeal_id}"
    replies = await asyncio.gather(
        rec.client.post(f"{base}/approve", headers=OPERATOR),
        rec.client.post(f"{base}/approve", headers={**OPERATOR, "x-operator-id": "emp-43"}),
        rec.client.post(f"{base}/reject", json={"reason": "no"}, headers=OPERATOR),
    )
    statuses = sorted(r.status_code for r in replies)
    assert statuses == [200, 409, 409], [r.text for r in replies]
    assert {error(r) for r in replies if r.status_code == 409} == {"APPEAL_ALREADY_DECIDED"}
    assert len(await actions_of(rec, account_id)) == 1
    assert len(await events_of(rec, account_id, AppealDecided, count=1)) == 1


async def test_rec_2_an_unknown_account_is_answered_like_a_real_one(rec: IdentityApp) -> None:
    """REC-2, enumeration: an appeal for an account id that does not exist answers 202 with
    an appeal id, and a second one APPEAL_PENDING, exactly as for a real account; nothing is
    stored or told."""
    real = (await rec.register_email("rec2.ivy@example.com")).json()["account_id"]
    answers: dict[str, list[tuple[int, Any]]] = {}
    for account_id, email in (
        (real, "rec2.ivy.a@example.com"),
        (UNKNOWN_ACCOUNT, "rec2.x@example.com"),
    ):
        first = await appeal(rec, account_id, email)
        second = await appeal(rec, account_id, email.replace("@", ".2@"))
        answers[account_id] = [
            (first.status_code, sorted(first.json())),
            (second.status_code, error(second)),
        ]
        uuid.UUID(first.json()["appeal_id"])
    assert (
        answers[real]
        == answers[UNKNOWN_ACCOUNT]
        == [
            (202, ["appeal_id", "status"]),
            (409, "APPEAL_PENDING"),
        ]
    )
    listed = {a["account_id"] for a in await pending(rec)}
    assert real in listed and UNKNOWN_ACCOUNT not in listed


async def test_rec_2_lm_2_an_email_of_another_account_is_refused_at_filing_and_approval(
    rec: IdentityApp,
) -> None:
    """REC-2 / LM-2: an email that is another account's login email cannot be appealed for,
    and one that became so while the appeal waited cannot be approved (it stays pending, for
    the operator to reject); the account is unchanged."""
    await rec.register_email("rec2.jo@example.com")
    target = (await rec.register_email("rec2.kim@example.com")).json()["account_id"]
    taken = await appeal(rec, target, "rec2.jo@example.com")
    assert error(taken) == "LOGIN_METHOD_QUOTA_EXCEEDED"
    filed = await appeal(rec, target, "rec2.kim.new@example.com")
    assert filed.status_code == 202, filed.text
    assert (await rec.register_email("rec2.kim.new@example.com")).status_code == 201
    appeal_id = filed.json()["appeal_id"]
    approve = await rec.client.post(f"/v1/operator/appeals/{appeal_id}/approve", headers=OPERATOR)
    assert error(approve) == "LOGIN_METHOD_QUOTA_EXCEEDED"
    assert appeal_id in [a["appeal_id"] for a in await pending(rec)]
    assert (await rec.login("rec2.kim@example.com")).status_code == 201
    assert await actions_of(rec, target) == []


async def test_rec_2_input_is_checked_before_the_code_is_spent(rec: IdentityApp) -> None:
    """Nothing counted before input is valid: a weak password, a blank or oversized
    statement are refused and the email's code still works afterwards."""
    account_id = (await rec.register_email("rec2.lee@example.com")).json()["account_id"]
    email = "rec2.lee.new@example.com"
    assert (await rec.send_code("appeal_email", "email", email)).status_code == 202
    code = await rec.code(email, "appeal_email")
    body = {
        "account_id": account_id,
        "email": email,
        "email_code": code,
        "password": NEW_PASSWORD,
        "statement": "mine",
    }
    post = rec.client.post
    weak = await post("/v1/recovery/appeals", json={**body, "password": "short"})
    assert error(weak) == "PASSWORD_TOO_SHORT"
    blank = await post("/v1/recovery/appeals", json={**body, "statement": "  "})
    assert error(blank) == "APPEAL_STATEMENT_REQUIRED"
    long = await post("/v1/recovery/appeals", json={**body, "statement": "x" * 2001})
    assert error(long) == "INVALID_REQUEST"
    bad_id = await post("/v1/recovery/appeals", json={**body, "account_id": "0x1"})
    assert error(bad_id) == "INVALID_REQUEST"
    assert (await post("/v1/recovery/appeals", json=body)).status_code == 202


async def test_rec_2_operator_endpoints_need_the_operator_credential(rec: IdentityApp) -> None:
    """REC-2: listing and deciding appeals are operator actions."""
    appeal_id = uuid.uuid4()
    for method, path in (
        ("GET", "/v1/operator/appeals"),
        ("POST", f"/v1/operator/appeals/{appeal_id}/approve"),
        ("POST", f"/v1/operator/appeals/{appeal_id}/reject"),
    ):
        anonymous = await rec.client.request(method, path, json={"reason": "r"})
        assert error(anonymous) == "OPERATOR_UNAUTHENTICATED"
    missing = await rec.client.post(f"/v1/operator/appeals/{appeal_id}/approve", headers=OPERATOR)
    assert error(missing) == "APPEAL_NOT_FOUND"


async def test_rec_1_rec_2_a_cancelled_account_is_neither_found_nor_recovered(
    rec: IdentityApp,
) -> None:
    """REC-1 leaves cancelled accounts out; an appeal filed before the cancellation can only
    be rejected (APPEAL_ACCOUNT_CANCELLED on approval); a new one is answered as for an
    unknown account (202, nothing stored)."""
    phone = new_phone()
    account_id = (await rec.register_email("rec2.max@example.com", phone=phone)).json()[
        "account_id"
    ]
    appeal_id = (await appeal(rec, account_id, "rec2.max.new@example.com")).json()["appeal_id"]
    async with rec.ctx.runtime.uow() as uow:
        await apply_status(rec.ctx, uow, int(account_id), cancel=True)
    found = await find(rec, phone, await find_code(rec, phone))
    assert found.json() == {"accounts": []}
    approve = await rec.client.post(f"/v1/operator/appeals/{appeal_id}/approve", headers=OPERATOR)
    assert error(approve) == "APPEAL_ACCOUNT_CANCELLED"
    reject = await rec.client.post(
        f"/v1/operator/appeals/{appeal_id}/reject",
        json={"reason": "The account was cancelled."},
        headers=OPERATOR,
    )
    assert reject.status_code == 200, reject.text
    again = await appeal(rec, account_id, "rec2.max.other@example.com")
    assert again.status_code == 202
    assert again.json()["appeal_id"] not in [a["appeal_id"] for a in await pending(rec)]
