"""Registration input rules of identity (no I/O)."""

from __future__ import annotations

import pytest

from services.identity.domain.accounts import (
    InvalidEmail,
    UnsupportedLanguage,
    email_registration,
)

pytestmark = pytest.mark.unit


def test_sec_5_emails_are_validated_and_normalised() -> None:
    """SEC-5: the domain is normalised (lower case, IDNA), the syntax checked."""
    assert email_registration("Alice@Example.COM", "en").email == "Alice@example.com"
    assert email_registration("bob@bücher.example", "en").email == "bob@bücher.example"


@pytest.mark.parametrize("bad", ["", "no-at-sign", "a@", "a b@example.com"])
def test_sec_5_an_invalid_email_is_refused_with_its_code(bad: str) -> None:
    with pytest.raises(InvalidEmail) as err:
        email_registration(bad, "en")
    assert err.value.code == "EMAIL_INVALID"


def test_only_supported_languages_are_accepted() -> None:
    with pytest.raises(UnsupportedLanguage):
        email_registration("a@example.com", "xx")
