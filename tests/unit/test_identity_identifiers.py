"""SEC-5 and CODE-1 identifiers: what makes two emails one login key, and keyed lockouts."""

from __future__ import annotations

import hashlib

import pytest

from services.identity.domain.channels import email_key, login_key, normalise_email
from services.identity.service_layer.context import login_subject

pytestmark = pytest.mark.unit


def test_sec_5_strasse_and_strasse_with_sharp_s_are_two_login_keys() -> None:
    """SEC-5: no full case folding: `straße@` and `strasse@` are different mailboxes."""
    assert login_key("straße@example.com") != login_key("strasse@example.com")
    assert login_key("Straße@Example.COM") == login_key("straße@example.com")


def test_sec_5_case_and_unicode_forms_of_one_email_are_one_login_key() -> None:
    """SEC-5: email-validator's normalisation + NFC; `Ann@` and `ann@` are one key."""
    assert login_key(" Ann@EXAMPLE.com ") == "ann@example.com"
    decomposed, composed = "jose\u0301@example.com", "jos\u00e9@example.com"
    assert login_key(decomposed) == login_key(composed) == "jos\u00e9@example.com"
    assert login_key("ann@Bücher.de") == email_key(normalise_email("ann@xn--bcher-kva.de"))


def test_sec_5_lockout_subjects_are_keyed_hmacs_not_plain_hashes() -> None:
    """SEC-5: a lockout key cannot be matched to an email by hashing a list of emails."""
    key = login_key("ann@example.com")
    subject = login_subject(key, "one secret")
    assert subject != hashlib.sha256(key.encode()).hexdigest()[:32]
    assert subject != login_subject(key, "another secret")
    assert subject == login_subject(key, "one secret")
