"""Identity's production wiring: no fake and no committed key serves outside dev mode."""

from __future__ import annotations

import pytest

from devkit.testing.gateways import ProductionKeys
from services.identity.main import spec
from services.identity.settings import IdentitySettings
from shared.service import UnsafeSettings, create_app

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _no_identity_settings_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in IdentitySettings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)


def test_outside_dev_mode_the_defaults_refuse_to_start_naming_each_setting() -> None:
    """ASVS 2.10.4 / 6.4.1: the committed keys and the fakes are never the production path."""
    problems = IdentitySettings().refusals()

    named = " ".join(problems)
    for setting in (
        "IDENTITY_PROVIDER",
        "CAPTCHA_PROVIDER",
        "SESSION_SIGNING_KEY",
        "CODE_HMAC_KEY",
    ):
        assert setting in named
    with pytest.raises(UnsafeSettings) as refused:
        create_app(spec(IdentitySettings()))
    assert refused.value.problems == problems


def test_a_fake_provider_chosen_outside_dev_mode_is_refused() -> None:
    keys = ProductionKeys()
    for setting in ("identity_provider", "captcha_provider"):
        problems = IdentitySettings(**{**keys.settings(), setting: "fake"}).refusals()
        assert problems == [f"{setting.upper()}=fake is for dev mode only"]


def test_a_signed_provider_needs_its_gateway_key_and_a_short_hmac_key_is_refused() -> None:
    values = {**ProductionKeys().settings(), "captcha_public_key": None, "code_hmac_key": "short"}
    assert IdentitySettings(**values).refusals() == [
        "CAPTCHA_PROVIDER=signed needs CAPTCHA_PUBLIC_KEY",
        "CODE_HMAC_KEY is shorter than 32 characters",
    ]


def test_own_keys_and_signed_providers_start_and_dev_mode_allows_the_fakes() -> None:
    assert IdentitySettings(**ProductionKeys().settings()).refusals() == []
    dev = IdentitySettings(dev_mode=True)
    assert dev.refusals() == []
    assert (dev.identity_provider_in_use, dev.captcha_provider_in_use) == ("fake", "fake")


def test_secrets_never_show_in_the_settings_repr() -> None:
    keys = ProductionKeys()
    shown = repr(IdentitySettings(**keys.settings())) + str(IdentitySettings(dev_mode=True))
    assert keys.code_hmac_key not in shown
    assert "PRIVATE KEY" not in shown
    assert "dev-only" not in shown
