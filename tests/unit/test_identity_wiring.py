"""Identity's production wiring: no fake and no committed key serves outside dev mode."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from devkit.testing.gateways import ProductionKeys
from services.identity.adapters.fakes import FakeCaptcha, FakeIdentityProvider
from services.identity.adapters.password_hasher import Argon2Hasher
from services.identity.adapters.providers import SignedAssertions, SignedCaptcha
from services.identity.bootstrap import bootstrap
from services.identity.main import spec
from services.identity.settings import DEV_MFA_ENCRYPTION_KEYS, IdentitySettings
from shared.db import make_engine
from shared.runtime import Runtime
from shared.service import UnsafeSettings, create_app

pytestmark = pytest.mark.unit
DEV_RING = DEV_MFA_ENCRYPTION_KEYS.replace("dev-1:", "old:")


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
        "MFA_ENCRYPTION_KEYS",
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


def test_mfa_6_the_committed_mfa_key_or_a_broken_key_ring_is_refused() -> None:
    keys = ProductionKeys().settings()
    with_dev_key = {**keys, "mfa_encryption_keys": f"k1:{ProductionKeys().mfa_key},{DEV_RING}"}
    assert IdentitySettings(**with_dev_key).refusals() == [
        "MFA_ENCRYPTION_KEYS holds the committed dev-only key"
    ]
    assert IdentitySettings(**{**with_dev_key, "dev_mode": True}).refusals() == []
    broken = {**keys, "mfa_encryption_keys": "k1:c2hvcnQ="}
    assert IdentitySettings(**broken).refusals() == [
        "MFA_ENCRYPTION_KEYS is not a key ring: key `k1` is not 32 bytes"
    ]
    unknown_id = {**keys, "mfa_encryption_key_id": "k9"}
    assert IdentitySettings(**unknown_id).refusals() == [
        "the current key id of MFA_ENCRYPTION_KEYS names no key of the ring"
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
    assert keys.mfa_key not in shown
    assert "PRIVATE KEY" not in shown
    assert "dev-only" not in shown


class RecordingHasher:
    """A password-hasher port of the test's own."""

    async def hash(self, password: str) -> str:
        return f"hashed:{password}"

    async def verify(self, stored: str | None, password: str) -> bool:
        return stored == f"hashed:{password}"


def runtime_for(settings: IdentitySettings) -> Runtime:
    """Nothing connects until used: enough to wire a context."""
    return Runtime(settings=settings, engine=make_engine(settings.database_url), redis=Redis())


def test_bootstrap_wires_the_fakes_only_when_dev_mode_settings_select_them() -> None:
    production = IdentitySettings(**ProductionKeys().settings())
    dev = IdentitySettings(dev_mode=True)

    real = bootstrap(production, runtime=runtime_for(production))
    fake = bootstrap(dev, runtime=runtime_for(dev))

    assert isinstance(real.idp, SignedAssertions) and not isinstance(real.idp, FakeIdentityProvider)
    assert isinstance(real.captcha, SignedCaptcha) and not isinstance(real.captcha, FakeCaptcha)
    assert isinstance(fake.idp, FakeIdentityProvider)
    assert isinstance(fake.captcha, FakeCaptcha)


def test_a_port_given_to_bootstrap_replaces_the_real_adapter() -> None:
    dev = IdentitySettings(dev_mode=True)
    hasher = RecordingHasher()

    ctx = bootstrap(dev, runtime=runtime_for(dev), hasher=hasher)

    assert ctx.hasher is hasher
    assert isinstance(bootstrap(dev, runtime=runtime_for(dev)).hasher, Argon2Hasher)


def test_the_context_is_wired_from_the_settings_the_app_runs_with() -> None:
    """A spec's settings replaced after it was made (the AsyncAPI writer does) reach the
    context: the wiring reads the runtime's settings, not the ones spec() was given."""
    made = spec(IdentitySettings(**ProductionKeys().settings()))
    made.settings = IdentitySettings(dev_mode=True)

    runtime = create_app(made).state.runtime

    assert runtime.context.settings is made.settings
    assert isinstance(runtime.context.idp, FakeIdentityProvider)
