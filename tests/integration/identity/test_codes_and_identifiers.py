"""One-time codes and identifiers over HTTP (CODE-1, CODE-2, SEC-5), real Redis and broker."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import sqlalchemy

from devkit.testing.accounts import UNLIMITED_CODES
from services.identity.adapters import repository as repo
from shared.events import LoginMethodKind
from tests.integration.identity.conftest import PASSWORD, IdentityApp, new_phone, wrong

NEW = "N3w!password"

pytestmark = pytest.mark.integration


async def test_sec_5_strasse_and_strasse_with_sharp_s_share_neither_code_nor_login(
    identity: IdentityApp,
) -> None:
    """SEC-5: `straße@` and `strasse@` are two mailboxes: two accounts, two codes."""
    sharp = await identity.register_email("codes.straße@example.com")
    assert sharp.status_code == 201, sharp.text
    plain = await identity.register_email("codes.strasse@example.com")
    assert plain.status_code == 201, plain.text
    assert sharp.json()["account_id"] != plain.json()["account_id"]

    wrong_mailbox = await identity.login("codes.strasse@example.com", "Other!pass1")
    assert wrong_mailbox.status_code == 401
    assert (await identity.token("codes.STRASSE@example.com")) and (
        await identity.token("Codes.Straße@Example.com")
    )


def code_body(destination: str, channel: str = "email", **extra: Any) -> dict[str, Any]:
    return {"purpose": "register", "channel": channel, "destination": destination, **extra}


async def test_code_2_an_anonymous_send_needs_a_solved_captcha(identity: IdentityApp) -> None:
    """CODE-2: /v1/codes without a captcha ticket, or with a forged one, sends nothing."""
    missing = await identity.client.post("/v1/codes", json=code_body("codes.cap@example.com"))
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "CAPTCHA_REQUIRED"
    forged = await identity.client.post(
        "/v1/codes", json=code_body("codes.cap@example.com", captcha_ticket="forged")
    )
    assert forged.json()["error"]["code"] == "CAPTCHA_INVALID"
    elsewhere = await identity.client.post(
        "/v1/codes",
        json=code_body(
            "codes.cap@example.com", captcha_ticket=await identity.captcha_ticket("x@y.org")
        ),
    )
    assert elsewhere.json()["error"]["code"] == "CAPTCHA_INVALID"  # solved for someone else
    ticket = await identity.captcha_ticket("codes.CAP@example.com")  # the same mailbox
    sent = await identity.client.post(
        "/v1/codes", json=code_body("codes.cap@example.com", captcha_ticket=ticket)
    )
    assert sent.status_code == 202, sent.text
    again = await identity.client.post(
        "/v1/codes", json=code_body("codes.cap@example.com", captcha_ticket=ticket)
    )
    assert again.json()["error"]["code"] == "CAPTCHA_INVALID"  # a ticket passes once


@pytest.mark.parametrize(
    ("number", "number_type"),
    [("+19004441234", "PREMIUM_RATE"), ("+861012345678", "FIXED_LINE")],
)
async def test_code_2_premium_rate_and_fixed_line_numbers_get_no_sms(
    identity: IdentityApp, number: str, number_type: str
) -> None:
    """CODE-2: only mobile numbers get codes; the refusal names the number's type."""
    reply = await identity.send_code("register", "sms", number)
    assert reply.status_code == 400, reply.text
    assert reply.json()["error"]["code"] == "PHONE_NOT_MOBILE"
    assert reply.json()["error"]["details"] == {"field": "destination", "number_type": number_type}


@pytest.mark.identity_settings(**{**UNLIMITED_CODES, "code_per_day": 9, "code_per_minute": 100})
async def test_code_2_anonymous_register_codes_do_not_starve_the_owners_reset(
    identity: IdentityApp,
) -> None:
    """CODE-2: the review's attack: a day's register codes sent to a victim's phone; the
    owner's password reset still gets its code (purpose classes have budgets of their own)."""
    phone = new_phone()
    assert (await identity.register_email("codes-vic@example.com", phone=phone)).status_code == 201
    sent = [await identity.send_code("register", "sms", phone) for _ in range(9)]
    assert [r.status_code for r in sent] == [202] * 8 + [429]
    assert sent[-1].json()["error"]["details"]["scope"] == "destination"

    asked = await identity.client.post(
        "/v1/password-resets", json={"email": "codes-vic@example.com", "channel": "sms"}
    )
    assert asked.status_code == 202
    code = await identity.code(phone, "reset_password")
    done = await identity.client.post(
        "/v1/password-resets/confirm",
        json={
            "email": "codes-vic@example.com",
            "channel": "sms",
            "code": code,
            "new_password": NEW,
        },
    )
    assert done.status_code == 204, done.text


@pytest.mark.identity_settings(**{**UNLIMITED_CODES, "code_client_per_hour": 5})
async def test_code_2_parallel_sends_from_one_client_stop_at_its_budget(
    identity: IdentityApp,
) -> None:
    """CODE-2, concurrency over HTTP: 20 parallel sends from one IP: exactly 5 are sent."""
    bodies = [
        code_body(
            f"codes.par{i}@example.com",
            captcha_ticket=await identity.captcha_ticket(f"codes.par{i}@example.com"),
        )
        for i in range(20)
    ]
    replies = await asyncio.gather(*(identity.client.post("/v1/codes", json=b) for b in bodies))
    assert sorted(r.status_code for r in replies) == [202] * 5 + [429] * 15
    assert {r.json()["error"]["details"]["scope"] for r in replies if r.status_code == 429} == {
        "client"
    }


@pytest.mark.identity_settings(
    **{**UNLIMITED_CODES, "code_sms_prefix_per_hour": 3, "code_sms_global_per_hour": 5}
)
async def test_code_2_sms_to_new_numbers_is_budgeted_per_prefix_and_in_all(
    identity: IdentityApp,
) -> None:
    """CODE-2: SMS pumping walks a number range: 3 an hour per 7-digit prefix, 5 in all."""
    in_range = [f"+86139{n:08d}" for n in range(77000001, 77000005)]
    replies = [await identity.send_code("register", "sms", n) for n in in_range]
    assert [r.status_code for r in replies] == [202, 202, 202, 429]
    assert replies[-1].json()["error"]["details"]["scope"] == "prefix"
    others = ["+8615012345678", "+8615112345678", "+8615212345678"]
    replies = [await identity.send_code("register", "sms", n) for n in others]
    assert [r.status_code for r in replies] == [202, 202, 429]
    assert replies[-1].json()["error"]["details"]["scope"] == "global"
    # Email is not SMS: neither budget applies to it.
    assert (
        await identity.send_code("register", "email", "codes.pump@example.com")
    ).status_code == 202


async def test_sec_4_a_new_contact_email_or_message_phone_is_proven_by_code_first(
    identity: IdentityApp,
) -> None:
    """SEC-4, ACC-2: nothing is sent to a contact channel before its code proves it: without
    the code (or with a wrong one) nothing changes; the secure email needs no new proof."""
    assert (await identity.register_email("codes.olga@example.com")).status_code == 201
    auth = await identity.token("codes.olga@example.com")
    for name, value in (
        ("contact_email", "bills@codes-olga.example"),
        ("message_phone", new_phone()),
    ):
        before = (await identity.client.get("/v1/me/settings", headers=auth)).json()
        unproven = await identity.client.patch("/v1/me/settings", json={name: value}, headers=auth)
        assert unproven.status_code == 400
        assert unproven.json()["error"]["code"] == "FIELD_REQUIRED"
        assert unproven.json()["error"]["details"] == {"field": f"{name}_code"}
        channel = "email" if name == "contact_email" else "sms"
        await identity.send_code(name, channel, value)
        code = await identity.code(value, name)
        guessed = await identity.client.patch(
            "/v1/me/settings", json={name: value, f"{name}_code": wrong(code)}, headers=auth
        )
        assert guessed.json()["error"]["code"] == "CODE_INVALID"
        assert (await identity.client.get("/v1/me/settings", headers=auth)).json() == before
        proven = await identity.client.patch(
            "/v1/me/settings", json={name: value, f"{name}_code": code}, headers=auth
        )
        assert proven.status_code == 200, proven.text
        assert proven.json()[name] == value
    back = await identity.client.patch(
        "/v1/me/settings", json={"contact_email": "codes.Olga@example.com"}, headers=auth
    )
    assert back.status_code == 200 and back.json()["contact_email"] == "codes.Olga@example.com"


async def test_pwd_3_an_account_registered_by_email_can_reset_by_email(
    identity: IdentityApp,
) -> None:
    """PWD-3: the login email proven at registration is the secure email, so a person who
    registered by email can reset the password by a code sent there."""
    assert (await identity.register_email("codes.pia@example.com")).status_code == 201
    asked = await identity.client.post(
        "/v1/password-resets", json={"email": "codes.pia@example.com", "channel": "email"}
    )
    assert asked.status_code == 202, asked.text
    code = await identity.code("codes.pia@example.com", "reset_password")
    done = await identity.client.post(
        "/v1/password-resets/confirm",
        json={
            "email": "codes.pia@example.com",
            "channel": "email",
            "code": code,
            "new_password": NEW,
        },
    )
    assert done.status_code == 204, done.text
    settings = (
        await identity.client.get(
            "/v1/me/settings", headers=await identity.token("codes.pia@example.com", NEW)
        )
    ).json()
    assert settings["secure_email"] == "codes.pia@example.com"


def answer(reply: httpx.Response) -> tuple[int, Any]:
    """What a caller sees, less the seconds to wait (they depend on when, not on whom)."""
    body = reply.json()
    if "error" in body:
        body["error"]["details"].pop("retry_after_s", None)
        body["error"]["details"].pop("locked_until", None)
        message = re.sub(r"\d+ s\b", "N s", body["error"]["message"])
        body["error"]["message"] = re.sub(r"\d{4}-\d\d-\d\dT[0-9:.+]+", "T", message)
    return reply.status_code, body


@pytest.mark.identity_settings(**{**UNLIMITED_CODES, "code_per_minute": 1})
async def test_a_second_reset_within_a_minute_answers_alike_for_real_and_unknown_emails(
    identity: IdentityApp,
) -> None:
    """CODE-2, enumeration: the reset's limits are counted per login email before the
    account is looked up, so a real and an unknown email get the same two answers."""
    assert (await identity.register_email("codes.rae@example.com")).status_code == 201
    answers = {}
    for email in ("codes.rae@example.com", "codes.nobody-rae@example.com"):
        body = {"email": email, "channel": "sms"}
        replies = [await identity.client.post("/v1/password-resets", json=body) for _ in range(2)]
        answers[email] = [answer(r) for r in replies]
    real, unknown = answers.values()
    assert real == unknown
    assert [status for status, _ in real] == [202, 429]
    assert real[1][1]["error"]["details"] == {"scope": "identifier"}


async def test_reset_by_email_answers_alike_with_and_without_a_secure_email(
    identity: IdentityApp,
) -> None:
    """PWD-3, enumeration: asking for a reset by email answers the same for an account with a
    secure email, one without (VERIFICATION_CHANNEL_UNAVAILABLE before), and no account."""
    for email in ("codes.sal@example.com", "codes.ted@example.com"):
        assert (await identity.register_email(email)).status_code == 201
    async with identity.ctx.runtime.uow() as uow:  # an account from before the secure email
        (ted,) = await repo.accounts_with(uow.conn, LoginMethodKind.EMAIL, "codes.ted@example.com")
        await repo.update_account(uow.conn, ted, secure_email=None)
    replies = [
        await identity.client.post("/v1/password-resets", json={"email": email, "channel": "email"})
        for email in (
            "codes.sal@example.com",
            "codes.ted@example.com",
            "codes.nobody-sal@example.com",
        )
    ]
    assert len({str(answer(r)) for r in replies}) == 1
    assert replies[0].status_code == 202


async def test_reg_4_a_taken_email_with_wrong_codes_answers_like_a_free_one(
    identity: IdentityApp,
) -> None:
    """REG-4, enumeration: codes are checked before the quota, so without the mailbox's code
    nobody learns that an email is taken."""
    assert (await identity.register_email("codes-uma@example.com")).status_code == 201
    answers = []
    for email in ("codes-uma@example.com", "free-codes-uma@example.com"):
        phone = new_phone()
        await identity.send_code("register", "email", email)
        await identity.send_code("register", "sms", phone)
        reply = await identity.client.post(
            "/v1/accounts",
            json={
                "method": "email",
                "email": email,
                "password": "Secr3t!pass",
                "email_code": wrong(await identity.code(email, "register")),
                "phone": phone,
                "phone_code": await identity.code(phone, "register"),
            },
        )
        answers.append(answer(reply))
    assert answers[0] == answers[1]
    assert answers[0][1]["error"]["code"] == "CODE_INVALID"


@dataclass
class Trace:
    """What one request did: its SQL statements (normalised) and its calls to the code store
    and the password hasher, in order."""

    statements: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)


_WRITES = re.compile(
    r"^(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT|INSERT INTO (outbox|login_attempts)"
    r"|UPDATE accounts|SELECT .* FROM accounts)",
    re.S,
)


@contextlib.contextmanager
def traced(identity: IdentityApp, monkeypatch: pytest.MonkeyPatch) -> Iterator[Trace]:
    """Record the work of the requests made inside (the service's background relay and
    consumers touch other tables, and are left out)."""
    trace = Trace()

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        text = " ".join(statement.split())
        if _WRITES.match(text):
            text = re.sub(r"^(RELEASE|ROLLBACK TO) SAVEPOINT", "END SAVEPOINT", text)
            trace.statements.append(re.sub(r"sa_savepoint_\d+", "sp", text))

    for target, names in (
        (identity.ctx.codes, ("spend", "refund", "issue", "verify")),
        (identity.ctx.hasher, ("verify", "hash")),
    ):
        for name in names:
            original = getattr(target, name)

            async def recorded(*args: Any, _name: str = name, _f: Any = original, **kw: Any) -> Any:
                trace.calls.append(_name)
                return await _f(*args, **kw)

            monkeypatch.setattr(target, name, recorded)
    engine = identity.ctx.runtime.engine.sync_engine
    sqlalchemy.event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield trace
    finally:
        sqlalchemy.event.remove(engine, "before_cursor_execute", on_execute)
        monkeypatch.undo()


async def test_a_reset_for_an_unknown_email_does_the_same_work_as_for_a_real_one(
    identity: IdentityApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Enumeration (timing): a reset request for an unknown email, or for an account without
    a secure email, runs the same statements and code-store calls as for a real one (a decoy
    code, its delivery request written and rolled back), and the same answer."""
    assert (await identity.register_email("codes.wes@example.com")).status_code == 201
    assert (await identity.register_email("codes.xia@example.com")).status_code == 201
    async with identity.ctx.runtime.uow() as uow:
        (xia,) = await repo.accounts_with(uow.conn, LoginMethodKind.EMAIL, "codes.xia@example.com")
        await repo.update_account(uow.conn, xia, secure_email=None)
    traces, replies = [], []
    for email in ("codes.wes@example.com", "codes.xia@example.com", "codes.nobody-wes@example.com"):
        with traced(identity, monkeypatch) as trace:
            replies.append(
                await identity.client.post(
                    "/v1/password-resets", json={"email": email, "channel": "email"}
                )
            )
        traces.append(trace)
    assert len({str(answer(r)) for r in replies}) == 1
    assert traces[0].calls == ["spend", "spend", "issue"]  # reset budgets, send budgets (none)
    assert [s.split(" (")[0].split(" SET")[0][:26] for s in traces[0].statements] == [
        "SELECT accounts.account_id",
        "SAVEPOINT sp",
        "INSERT INTO outbox",
        "END SAVEPOINT sp",
    ]
    assert traces[0] == traces[1] == traces[2]


async def test_a_reset_confirmation_answers_alike_for_real_and_unknown_emails(
    identity: IdentityApp,
) -> None:
    """Enumeration: after a reset request, a wrong code answers CODE_INVALID with the same
    tries left whether the email has an account (its code) or not (its decoy code)."""
    assert (await identity.register_email("codes.yan@example.com")).status_code == 201
    answers = []
    for email in ("codes.yan@example.com", "codes.nobody-yan@example.com"):
        confirm = {"email": email, "channel": "email", "code": "000000", "new_password": NEW}
        before = await identity.client.post("/v1/password-resets/confirm", json=confirm)
        await identity.client.post("/v1/password-resets", json={"email": email, "channel": "email"})
        after = [
            await identity.client.post("/v1/password-resets/confirm", json=confirm)
            for _ in range(6)
        ]
        answers.append([answer(r) for r in (before, *after)])
    assert answers[0] == answers[1]
    codes = [body["error"]["code"] for _, body in answers[0]]
    assert codes == ["CODE_EXPIRED", *["CODE_INVALID"] * 5, "CODE_TOO_MANY_TRIES"]


@pytest.mark.identity_settings(login_captcha_after=100, login_lock_after=2)
async def test_a_wrong_password_and_a_lock_cost_a_real_and_an_unknown_email_the_same(
    identity: IdentityApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Enumeration (timing), LOGIN-2/3: a wrong password, the failure that locks and a refusal
    while locked run the same statements and the same argon2 verification for an unknown
    email as for a real one (its history and events written and rolled back), with the
    same answers."""
    assert (await identity.register_email("codes.zoe@example.com")).status_code == 201
    runs = []
    for email in ("codes.zoe@example.com", "codes.nobody-zoe@example.com"):
        steps = []
        for password in ("Wrong1!pass", "Wrong1!pass", PASSWORD):
            with traced(identity, monkeypatch) as trace:
                reply = await identity.login(email, password)
            steps.append((answer(reply), trace))
        runs.append(steps)
    real, unknown = runs
    assert real == unknown
    assert [a[0] for a, _ in real] == [401, 401, 423]
    wrong, locking, locked = (t for _, t in real)
    assert wrong.calls == locking.calls == ["verify"]  # the argon2 check, dummy or not
    assert locked.calls == []  # refused before any argon2 work
    assert sum(s.startswith("INSERT INTO outbox") for s in locking.statements) == 2
    assert any(s.startswith("UPDATE accounts") for s in locking.statements)  # the lock's end
    assert any(s.startswith("INSERT INTO login_attempts") for s in locked.statements)
