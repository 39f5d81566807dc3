"""Identity's wiring: the adapters its use cases need, built once per process."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from services.identity.adapters.code_store import CodeStore
from services.identity.adapters.login_guard import LoginGuard
from services.identity.adapters.password_hasher import Argon2Hasher
from services.identity.adapters.providers import (
    CaptchaProvider,
    FakeCaptcha,
    FakeIdentityProvider,
    IdentityProvider,
)
from services.identity.adapters.sessions import SessionStore
from services.identity.settings import IdentitySettings
from shared.logging import get_logger
from shared.runtime import Runtime

log = get_logger(__name__)

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
    fake_idp: FakeIdentityProvider
    fake_captcha: FakeCaptcha

    def now(self) -> datetime:
        return self.runtime.clock.now()

    def login_subject(self, email_key: str) -> str:
        """The lockout subject of a login identifier (see `login_subject`)."""
        return login_subject(email_key, self.settings.code_hmac_key)


def warn_about_dev_keys(settings: IdentitySettings) -> list[str]:
    """The settings still holding the committed dev-only keys (logged at start)."""
    defaults = IdentitySettings.model_fields
    names = ("session_signing_key", "code_hmac_key", "fake_provider_secret")
    left = [n for n in names if getattr(settings, n) == defaults[n].default]
    if left and not settings.dev_mode:
        log.warning("dev_only_keys_in_use", settings=[n.upper() for n in left])
    return left


def build(runtime: Runtime) -> IdentityContext:
    settings = runtime.settings
    assert isinstance(settings, IdentitySettings)
    warn_about_dev_keys(settings)
    prefix = settings.redis_key_prefix
    fake_idp = FakeIdentityProvider(settings.fake_provider_secret, settings.assertion_audience)
    fake_captcha = FakeCaptcha(settings.fake_provider_secret)
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
        ),
        codes=CodeStore(
            runtime.redis,
            prefix,
            hmac_key=settings.code_hmac_key,
            ttl_s=settings.code_ttl_s,
            max_tries=settings.code_max_tries,
            per_minute=settings.code_per_minute,
            per_day=settings.code_per_day,
        ),
        sessions=SessionStore(
            runtime.redis,
            prefix,
            signing_key_pem=settings.session_signing_key,
            ttl_s=settings.session_ttl_s,
            max_s=settings.session_max_s,
            access_ttl_s=settings.access_token_ttl_s,
        ),
        idp=fake_idp,
        captcha=fake_captcha,
        fake_idp=fake_idp,
        fake_captcha=fake_captcha,
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
