"""Identity's wiring: the adapters its use cases need, built once per process."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.identity.adapters.captcha_tickets import UsedCaptchaTickets
from services.identity.adapters.code_store import CodeStore
from services.identity.adapters.login_guard import LoginGuard
from services.identity.adapters.password_hasher import Argon2Hasher
from services.identity.adapters.providers import (
    CaptchaProvider,
    FakeCaptcha,
    FakeIdentityProvider,
    IdentityProvider,
    SignedAssertions,
    SignedCaptcha,
)
from services.identity.adapters.sessions import SessionStore
from services.identity.settings import IdentitySettings
from shared.auth import LocalKeys, TokenSigner, key_id, public_key
from shared.errors import NotFound
from shared.runtime import Runtime

PRODUCER = "identity"


@dataclass
class IdentityContext:
    """Everything a use case may touch; tests build one with fakes where they need to."""

    runtime: Runtime
    settings: IdentitySettings
    hasher: Argon2Hasher
    guard: LoginGuard
    codes: CodeStore
    sessions: SessionStore
    idp: IdentityProvider
    captcha: CaptchaProvider
    captcha_tickets: UsedCaptchaTickets

    def now(self) -> datetime:
        return self.runtime.clock.now()

    def login_subject(self, email_key: str) -> str:
        """The lockout subject of a login identifier (see `login_subject`)."""
        return login_subject(email_key, self.settings.code_hmac_key.get_secret_value())

    @property
    def fake_idp(self) -> FakeIdentityProvider:
        """The fake identity provider (dev mode); /v1/dev and tests mint with it."""
        if not isinstance(self.idp, FakeIdentityProvider):
            raise FakeNotSelected("IDENTITY_PROVIDER is not `fake`: nothing to mint with.")
        return self.idp

    @property
    def fake_captcha(self) -> FakeCaptcha:
        if not isinstance(self.captcha, FakeCaptcha):
            raise FakeNotSelected("CAPTCHA_PROVIDER is not `fake`: nothing to mint with.")
        return self.captcha


class FakeNotSelected(NotFound):
    code = "FAKE_PROVIDER_NOT_SELECTED"


def identity_provider(settings: IdentitySettings) -> IdentityProvider:
    """The adapter IDENTITY_PROVIDER selects (settings.refusals() vetted the choice)."""
    if settings.identity_provider_in_use == "fake":
        secret = settings.fake_provider_secret.get_secret_value()
        return FakeIdentityProvider(secret, settings.assertion_audience)
    assert settings.identity_provider_public_key, settings.refusals()
    return SignedAssertions.ed25519(
        settings.identity_provider_public_key, settings.assertion_audience
    )


def captcha_provider(settings: IdentitySettings) -> CaptchaProvider:
    """The adapter CAPTCHA_PROVIDER selects (settings.refusals() vetted the choice)."""
    if settings.captcha_provider_in_use == "fake":
        return FakeCaptcha(settings.fake_provider_secret.get_secret_value())
    assert settings.captcha_public_key, settings.refusals()
    return SignedCaptcha.ed25519(settings.captcha_public_key)


def token_signer(settings: IdentitySettings) -> TokenSigner:
    return TokenSigner(
        settings.session_signing_key.get_secret_value(), ttl_s=settings.access_token_ttl_s
    )


def verification_keys(settings: IdentitySettings) -> list[Ed25519PublicKey]:
    """The keys a token of ours may be signed with: the current one and, during a rotation,
    the previous one (what /.well-known/jwks.json publishes)."""
    keys = [token_signer(settings).public_key]
    if settings.session_previous_public_key:
        previous = public_key(settings.session_previous_public_key)
        if key_id(previous) != key_id(keys[0]):
            keys.append(previous)
    return keys


def build(runtime: Runtime) -> IdentityContext:
    settings = runtime.settings
    assert isinstance(settings, IdentitySettings)
    prefix = settings.redis_key_prefix
    return IdentityContext(
        runtime=runtime,
        settings=settings,
        hasher=Argon2Hasher(settings),
        guard=LoginGuard(
            runtime.redis,
            prefix,
            captcha_after=settings.login_captcha_after,
            lock_after=settings.login_lock_after,
            lock_window_s=settings.login_lock_window_s,
            failure_budget=settings.login_failure_budget,
            ip_failures=settings.login_ip_failures,
            ip_window_s=settings.login_ip_window_s,
        ),
        codes=CodeStore(
            runtime.redis,
            prefix,
            hmac_key=settings.code_hmac_key.get_secret_value(),
            ttl_s=settings.code_ttl_s,
            max_tries=settings.code_max_tries,
            per_minute=settings.code_per_minute,
            per_day=settings.code_per_day,
            max_tries_per_day=settings.code_max_tries_per_day,
        ),
        sessions=SessionStore(
            runtime.redis,
            prefix,
            signer=token_signer(settings),
            keys=LocalKeys(verification_keys(settings)),
            ttl_s=settings.session_ttl_s,
            max_s=settings.session_max_s,
        ),
        idp=identity_provider(settings),
        captcha=captcha_provider(settings),
        captcha_tickets=UsedCaptchaTickets(runtime.redis, prefix),
    )


def identity_context(runtime: Runtime) -> IdentityContext:
    """The process's context, built on first use."""
    context = runtime.extras.get("identity")
    if context is None:
        context = runtime.extras["identity"] = build(runtime)
    assert isinstance(context, IdentityContext)
    return context


def login_subject(email_key: str, hmac_key: str) -> str:
    """Lockout counters are keyed by the login identifier, not the account, so an unknown
    email behaves exactly like a known one (no account enumeration through the lock). Keyed
    (SEC-5): an unkeyed hash of an email is reversed by hashing a list of known emails."""
    message = f"login-subject:{email_key}".encode()
    return hmac.new(hmac_key.encode(), message, hashlib.sha256).hexdigest()[:32]
