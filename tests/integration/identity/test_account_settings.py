"""Passwords, secure and contact channels, status and projects (PWD-2/3, SEC-2/3, ACC-2/3,
REG-5, PRJ-1) over HTTP and events."""

from __future__ import annotations

from typing import Any

import pytest

from devkit.testing.kafka import publish
from devkit.testing.waiting import eventually
from shared.events import (
    AccountContacts,
    AccountStatus,
    AccountStatusChanged,
    CancellationCompleted,
    CancellationRequested,
    CancellationWithdrawn,
    PasswordChanged,
    SecurePhoneChanged,
    Topic,
    new_envelope,
)
from tests.integration.identity.conftest import PASSWORD, IdentityApp, new_phone

pytestmark = pytest.mark.integration
NEW_PASSWORD = "N3w!password"


async def account(
    identity: IdentityApp, email: str, phone: str | None = None
) -> tuple[str, dict[str, str]]:
    reply = await identity.register_email(email, phone=phone)
    assert reply.status_code == 201, reply.text
    return reply.json()["account_id"], await identity.token(email)


async def test_pwd_2_a_change_takes_effect_at_once_and_ends_other_sessions(
    identity: IdentityApp,
) -> None:
    account_id, here = await account(identity, "cal@example.com")
    elsewhere = await identity.token("cal@example.com")
    wrong = await identity.client.put(
        "/v1/me/password",
        json={"current_password": "Nope!1234", "new_password": NEW_PASSWORD},
        headers=here,
    )
    assert wrong.json()["error"]["code"] == "INVALID_CREDENTIALS"
    weak = await identity.client.put(
        "/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "cal@example.com"},
        headers=here,
    )
    assert weak.status_code == 400
    changed = await identity.client.put(
        "/v1/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=here,
    )
    assert changed.status_code == 204
    assert (await identity.client.get("/v1/me", headers=here)).status_code == 200
    assert (await identity.client.get("/v1/me", headers=elsewhere)).status_code == 401
    assert (await identity.login("cal@example.com")).status_code == 401
    assert (await identity.login("cal@example.com", NEW_PASSWORD)).status_code == 201

    async def event() -> list[Any]:
        return [
            e
            for e in await identity.events()
            if e.account_id == account_id and isinstance(e.payload, PasswordChanged)
        ]

    (changed_event,) = await eventually(event, what="PasswordChanged")
    assert changed_event.payload.how == "change"


async def test_pwd_3_reset_by_a_code_to_the_secure_phone(identity: IdentityApp) -> None:
    phone = new_phone()
    _, session = await account(identity, "dee@example.com", phone)
    silent = await identity.client.post(
        "/v1/password-resets", json={"email": "nobody-dee@example.com", "channel": "sms"}
    )
    asked = await identity.client.post(
        "/v1/password-resets", json={"email": "dee@example.com", "channel": "sms"}
    )
    assert silent.status_code == asked.status_code == 202
    assert silent.json() == asked.json()  # no account enumeration
    code = await identity.code(phone, "reset_password")
    done = await identity.client.post(
        "/v1/password-resets/confirm",
        json={
            "email": "dee@example.com",
            "channel": "sms",
            "code": code,
            "new_password": NEW_PASSWORD,
        },
    )
    assert done.status_code == 204, done.text
    assert (await identity.client.get("/v1/me", headers=session)).status_code == 401
    assert (await identity.login("dee@example.com", NEW_PASSWORD)).status_code == 201
    reused = await identity.client.post(
        "/v1/password-resets/confirm",
        json={"email": "dee@example.com", "channel": "sms", "code": code, "new_password": PASSWORD},
    )
    assert reused.json()["error"]["code"] == "CODE_EXPIRED"  # CODE-1: single use


async def test_sec_2_changing_the_secure_phone_needs_verification_and_the_new_phones_code(
    identity: IdentityApp,
) -> None:
    account_id, auth = await account(identity, "eli@example.com")
    new = new_phone()
    proof = await identity.proof(auth)
    await identity.send_code("change_secure_phone", "sms", new)
    reply = await identity.client.put(
        "/v1/me/secure-phone",
        json={
            "verification": proof,
            "new_phone": new,
            "new_phone_code": await identity.code(new, "change_secure_phone"),
        },
        headers=auth,
    )
    assert reply.status_code == 200, reply.text
    assert (
        reply.json()["secure_phone"].endswith(new[-4:]) and "****" in reply.json()["secure_phone"]
    )
    settings = (await identity.client.get("/v1/me/settings", headers=auth)).json()
    assert settings["secure_phone"] == new

    async def published() -> list[Any]:
        changed = [
            e
            for e in await identity.events()
            if e.account_id == account_id and isinstance(e.payload, SecurePhoneChanged)
        ]
        contacts = [
            e
            for e in await identity.events("identity.contacts")
            if e.account_id == account_id and e.payload.secure_phone == new
        ]
        return changed + contacts if changed and contacts else []

    await eventually(published, what="SecurePhoneChanged and the new contacts record")


async def test_sec_1_changing_to_a_phone_that_guards_five_accounts_is_refused(
    identity: IdentityApp,
) -> None:
    crowded = new_phone()
    for i in range(5):
        await account(identity, f"crowd{i}@example.com", crowded)
    _, auth = await account(identity, "fay5@example.com")
    proof = await identity.proof(auth)
    await identity.send_code("change_secure_phone", "sms", crowded)
    reply = await identity.client.put(
        "/v1/me/secure-phone",
        json={
            "verification": proof,
            "new_phone": crowded,
            "new_phone_code": await identity.code(crowded, "change_secure_phone"),
        },
        headers=auth,
    )
    assert reply.status_code == 409
    assert reply.json()["error"]["code"] == "SECURE_PHONE_QUOTA_EXCEEDED"


async def test_sec_3_changing_the_secure_email_proves_the_old_and_the_new(
    identity: IdentityApp,
) -> None:
    _, auth = await account(identity, "gus@example.com")

    async def change(to: str, proof: dict[str, str]) -> Any:
        await identity.send_code("change_secure_email", "email", to)
        return await identity.client.put(
            "/v1/me/secure-email",
            json={
                "verification": proof,
                "new_email": to,
                "new_email_code": await identity.code(to, "change_secure_email"),
            },
            headers=auth,
        )

    # Registered by email: the login email is the secure email from the start.
    by_phone = await change("gus.other@example.com", await identity.proof(auth, "sms"))
    assert by_phone.json()["error"]["code"] == "OLD_SECURE_EMAIL_PROOF_REQUIRED"
    by_old_email = await change("gus.other@example.com", await identity.proof(auth, "email"))
    assert by_old_email.status_code == 200
    assert by_old_email.json() == {"secure_email": "g***@example.com"}


async def test_acc_2_contact_channels_are_separate_and_masked_outside_the_settings_page(
    identity: IdentityApp,
) -> None:
    """ACC-2: nickname and contact channels apart from the secure ones; personal data masked
    everywhere but the owner's settings page."""
    account_id, auth = await account(identity, "hana@example.com")
    await identity.send_code("contact_email", "email", "billing@hana.example")
    await identity.send_code("message_phone", "sms", "13812345678")
    updated = await identity.client.patch(
        "/v1/me/settings",
        json={
            "nickname": "Hana",
            "contact_email": "billing@hana.example",
            "contact_email_code": await identity.code("billing@hana.example", "contact_email"),
            "message_phone": "13812345678",
            "message_phone_code": await identity.code("+8613812345678", "message_phone"),
        },
        headers=auth,
    )
    assert updated.status_code == 200, updated.text
    settings = updated.json()
    assert settings["contact_email"] == "billing@hana.example"
    assert settings["message_phone"] == "+8613812345678"
    me = (await identity.client.get("/v1/me", headers=auth)).json()
    assert me["nickname"] == "Hana"
    assert "@" not in (me["secure_phone"] or "") and "****" in me["secure_phone"]
    bad = await identity.client.patch("/v1/me/settings", json={"message_phone": "12"}, headers=auth)
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "PHONE_INVALID"
    assert bad.json()["error"]["details"] == {"field": "message_phone"}

    async def contacts() -> list[Any]:
        return [
            e.payload
            for e in await identity.events("identity.contacts")
            if e.account_id == account_id and e.payload.message_phone == "+8613812345678"
        ]

    (record,) = await eventually(contacts, what="the contacts record")
    assert isinstance(record, AccountContacts) and record.contact_email == "billing@hana.example"


async def cancellation_event(identity: IdentityApp, account_id: str, payload: Any) -> None:
    await publish(
        identity.kafka,
        identity.scope.topic(Topic.CANCELLATION_EVENTS),
        new_envelope(payload, producer="cancellation", account_id=account_id),
    )


async def test_acc_3_reg_5_status_follows_cancellation_and_cancelled_identifiers_are_free(
    identity: IdentityApp,
) -> None:
    """ACC-3: frozen while cancellation cools off (login still works), active after a
    withdrawal, cancelled at completion (no login); REG-5: the email registers anew."""
    from datetime import UTC, datetime

    phone = new_phone()
    account_id, auth = await account(identity, "ivo@example.com", phone)
    now = datetime.now(UTC)
    requested = CancellationRequested(
        application_id="a1", requested_at=now, cooling_off_ends_at=now
    )

    async def status() -> str:
        reply = await identity.login("ivo@example.com")
        if reply.status_code != 201:
            return f"login:{reply.json()['error']['code']}"
        token = {"authorization": f"Bearer {reply.json()['access_token']}"}
        me = (await identity.client.get("/v1/me", headers=token)).json()
        return str(me.get("status", "session ended meanwhile"))

    await cancellation_event(identity, account_id, requested)
    await eventually(lambda: _is(status, "frozen"), what="frozen")
    assert (await identity.client.get("/v1/me", headers=auth)).status_code == 401  # sessions ended
    await cancellation_event(
        identity, account_id, CancellationWithdrawn(application_id="a1", withdrawn_at=now)
    )
    await eventually(lambda: _is(status, "active"), what="active again")
    await cancellation_event(identity, account_id, requested)
    await eventually(lambda: _is(status, "frozen"), what="frozen again")
    await cancellation_event(
        identity, account_id, CancellationCompleted(application_id="a1", completed_at=now)
    )
    await eventually(
        lambda: _is(status, "login:INVALID_CREDENTIALS"), what="no login once cancelled"
    )
    statuses = [
        e.payload.status
        for e in await identity.events()
        if e.account_id == account_id and isinstance(e.payload, AccountStatusChanged)
    ]
    assert statuses == [
        AccountStatus.FROZEN,
        AccountStatus.ACTIVE,
        AccountStatus.FROZEN,
        AccountStatus.CANCELLED,
    ]
    again = await identity.register_email("ivo@example.com", phone=phone)
    assert again.status_code == 201, again.text
    assert again.json()["account_id"] != account_id


async def _is(probe: Any, expected: str) -> bool:
    return bool(await probe() == expected)


async def test_prj_1_projects_are_disabled_and_enabled_never_deleted(identity: IdentityApp) -> None:
    _, auth = await account(identity, "jon@example.com")
    created = await identity.client.post(
        "/v1/projects", json={"name": "shop", "description": "web shop"}, headers=auth
    )
    assert created.status_code == 201
    project_id = created.json()["project_id"]
    dup = await identity.client.post("/v1/projects", json={"name": "shop"}, headers=auth)
    assert dup.json()["error"]["code"] == "PROJECT_NAME_TAKEN"
    await identity.client.post("/v1/projects", json={"name": "blog"}, headers=auth)
    disabled = await identity.client.post(f"/v1/projects/{project_id}/disable", headers=auth)
    assert disabled.json()["enabled"] is False
    visible = (await identity.client.get("/v1/projects", headers=auth)).json()["projects"]
    assert [p["name"] for p in visible] == ["blog"]
    everything = await identity.client.get("/v1/projects?include_disabled=true", headers=auth)
    assert [p["name"] for p in everything.json()["projects"]] == ["shop", "blog"]
    enabled = await identity.client.post(f"/v1/projects/{project_id}/enable", headers=auth)
    assert enabled.json()["enabled"] is True
    deleted = await identity.client.delete(f"/v1/projects/{project_id}", headers=auth)
    assert deleted.status_code in (404, 405)  # there is no way to delete a project
    listed = await identity.client.get("/v1/projects?include_disabled=true", headers=auth)
    assert project_id in [p["project_id"] for p in listed.json()["projects"]]
    _, stranger = await account(identity, "kai@example.com")
    hidden = await identity.client.post(f"/v1/projects/{project_id}/disable", headers=stranger)
    assert hidden.json()["error"]["code"] == "PROJECT_NOT_FOUND"
