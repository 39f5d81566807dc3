"""Routing and templates of the notifier: pure rules."""

from __future__ import annotations

import pytest

from services.notifier.domain.routing import Category, Contacts, destination_for
from services.notifier.domain.templates import UnknownTemplate, render
from shared.events import Channel
from shared.masking import mask_email, mask_phone

pytestmark = pytest.mark.unit

CONTACTS = Contacts(
    secure_phone="+8618112341234",
    secure_email="secure@example.com",
    message_phone="+8613900001111",
    contact_email="contact@example.com",
)


@pytest.mark.parametrize(
    ("category", "channel", "expected"),
    [
        (Category.SECURITY, Channel.SMS, "+8618112341234"),
        (Category.SECURITY, Channel.EMAIL, "secure@example.com"),
        (Category.BILLING, Channel.SMS, "+8613900001111"),
        (Category.PRODUCT, Channel.EMAIL, "contact@example.com"),
        (Category.PRODUCT, Channel.SMS, None),
    ],
)
def test_sec_4_each_category_goes_to_its_own_channel(
    category: Category, channel: Channel, expected: str | None
) -> None:
    """SEC-4: security to the secure channels, billing to the message phone, notices to the
    contact email."""
    assert destination_for(category, channel, CONTACTS) == expected


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_the_welcome_template_renders_in_both_languages(language: str) -> None:
    rendered = render("welcome", language, {"account_id": "100000000001", "login": "a***@x.com"})
    assert "100000000001" in rendered.text
    assert "a***@x.com" in rendered.text
    assert rendered.subject


def test_an_unknown_language_falls_back_to_chinese() -> None:
    assert render("welcome", "fr", {"account_id": "1", "login": "x"}).subject == "欢迎使用账号中心"


def test_an_unknown_template_is_refused() -> None:
    with pytest.raises(UnknownTemplate):
        render("nope", "en", {})


def test_personal_data_is_masked() -> None:
    assert mask_phone("+8618112341234") == "+86 181****1234"
    assert mask_email("alice@example.com") == "a***@example.com"
