"""RN-17 over the real service: an ID number is sealed at rest (AES-256-GCM, key id kept),
counted by a keyed hash, masked in every reply, and never in clear in a log line, an event,
a dead letter or a table, whatever happens to the submission."""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg
import pytest
import structlog

from devkit.testing.kafka import read_all
from devkit.testing.people import random_resident_id, resident_id
from services.verification.adapters.repository import RealNames
from services.verification.adapters.sensitive import Purpose, SensitiveData
from shared.secret_box import SecretUnreadable, parse_key_ring
from tests.integration.verification.conftest import VerificationApp

pytestmark = pytest.mark.integration


def forms(number: str) -> set[str]:
    """The number as typed, in lower case, without its check character, and hex-encoded."""
    return {
        number,
        number.lower(),
        number[:17],
        number.encode().hex(),
        number[6:14] + number[14:17],
    }


def leaks(text: str, number: str) -> list[str]:
    return sorted(form for form in forms(number) if form in text)


async def dump(verification: VerificationApp) -> str:
    """Every row of every table of the service's database, as text."""
    database = verification.ctx.settings.database_name
    conn = await asyncpg.connect(f"{verification.scope.infra.postgres_dsn}/{database}")
    try:
        tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        rows: list[str] = []
        for table in tables:
            for row in await conn.fetch(f'SELECT * FROM "{table["tablename"]}"'):
                rows.append(repr(dict(row)))
                rows.extend(v.hex() for v in row.values() if isinstance(v, bytes))
        return "\n".join(rows)
    finally:
        await conn.close()


async def test_rn_17_an_id_number_is_never_in_clear_in_logs_events_dead_letters_or_tables(
    verification: VerificationApp, caplog: pytest.LogCaptureFixture
) -> None:
    number = random_resident_id()
    accounts = [await verification.register() for _ in range(6)]
    replies: list[Any] = []
    with structlog.testing.capture_logs() as logs:
        await verification.tell(accounts[0], "fail")
        replies.append(await verification.verify_person(accounts[0], number))
        await verification.tell(accounts[1], "timeout")
        replies.append(await verification.verify_person(accounts[1], number))
        for account in accounts[2:5]:
            replies.append(await verification.verify_person(account, number))
        replies.append(await verification.verify_person(accounts[5], number))  # over quota
        replies.append(
            await verification.verify_person(
                accounts[5], number[:-1] + ("1" if number.endswith("0") else "0")
            )
        )
        for account in accounts:
            replies.append(
                await verification.client.get("/v1/real-name", headers=verification.auth(account))
            )
        for account in accounts[2:5]:
            await verification.events_of(account, 2)

    assert [r.status_code for r in replies[:7]] == [400, 504, 201, 201, 201, 409, 400]
    assert any(entry["event"] == "real_name_changed" for entry in logs), "logs were captured"
    log_text = "\n".join(repr(entry) for entry in logs) + caplog.text
    assert leaks(log_text, number) == []
    reply_text = "\n".join(r.text for r in replies)
    assert leaks(reply_text, number) == []
    assert number[0] + "*" * 16 + number[-1] in reply_text, "the masked form is shown"
    topics = ["verification.events", "identity.events.dlq", "verification.events.dlq"]
    for topic in topics:
        records = await read_all(verification.kafka, verification.scope.topic(topic))
        text = "\n".join(repr((r.key, r.value, r.headers)) for r in records)
        assert leaks(text, number) == [], topic
    assert leaks(await dump(verification), number) == []


async def test_rn_17_the_sealed_number_opens_for_its_account_only_under_its_key(
    verification: VerificationApp,
) -> None:
    number = resident_id(date(1979, 1, 2), serial=7)
    account, other = await verification.register(), await verification.register()
    assert (await verification.verify_person(account, number)).status_code == 201
    async with verification.ctx.runtime.engine.connect() as conn:
        stored = await RealNames(conn).person(account)
    assert stored is not None
    sensitive = verification.ctx.sensitive

    opened = sensitive.open(Purpose.PERSON, stored.sealed, account_id=account)

    assert opened == {"name": "张三", "document_number": number}
    assert stored.sealed.key_id == sensitive.current_key_id == "dev-1"
    assert stored.fingerprint == sensitive.fingerprint(Purpose.PERSON, f"resident_id:{number}")
    assert number not in stored.fingerprint
    with pytest.raises(SecretUnreadable):
        sensitive.open(Purpose.PERSON, stored.sealed, account_id=other)
    with pytest.raises(SecretUnreadable):
        sensitive.open(Purpose.BANK_ACCOUNT, stored.sealed, account_id=account)
    ring = parse_key_ring(verification.ctx.settings.id_encryption_keys.get_secret_value())
    rotated = SensitiveData({"k2": b"n" * 32, **ring}, "k2", hash_key=b"h" * 32)
    assert (
        rotated.open(Purpose.PERSON, stored.sealed, account_id=account)["document_number"] == number
    )
    assert rotated.seal(Purpose.PERSON, opened, account_id=account).key_id == "k2"
