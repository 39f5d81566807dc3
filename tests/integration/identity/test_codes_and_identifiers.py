"""One-time codes and identifiers over HTTP (CODE-1, CODE-2, SEC-5), real Redis and broker."""

from __future__ import annotations

import pytest

from tests.integration.identity.conftest import IdentityApp

pytestmark = pytest.mark.integration


async def test_sec_5_strasse_and_strasse_with_sharp_s_share_neither_code_nor_login(
    identity: IdentityApp,
) -> None:
    """SEC-5: `straße@` and `strasse@` are two mailboxes: two accounts, two codes."""
    sharp = await identity.register_email("straße@example.com")
    assert sharp.status_code == 201, sharp.text
    plain = await identity.register_email("strasse@example.com")
    assert plain.status_code == 201, plain.text
    assert sharp.json()["account_id"] != plain.json()["account_id"]

    wrong_mailbox = await identity.login("strasse@example.com", "Other!pass1")
    assert wrong_mailbox.status_code == 401
    assert (await identity.token("STRASSE@example.com")) and (
        await identity.token("Straße@Example.com")
    )
