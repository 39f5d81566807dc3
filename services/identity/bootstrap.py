"""Identity's wiring: the real adapters behind each port, built once per process.

`bootstrap(settings, runtime=...)` is what the service runs with (main.spec wires it); a test
passes any port as a keyword to replace the real one. The fakes (adapters/fakes.py) are the
real choice only when the settings select them, which settings.refusals() allows in dev mode
only.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.identity.adapters import appeals as appeal_repository
from services.identity.adapters import (
    device_repository,
    erasure_repository,
    flow_repository,
    mfa_devices,
    repository,
)
from services.identity.adapters.captcha_tickets import RedisCaptchaTickets
from services.identity.adapters.code_store import RedisCodeStore
from services.identity.adapters.fakes import FakeCaptcha, FakeIdentityProvider
from services.identity.adapters.login_guard import RedisLoginGuard
from services.identity.adapters.password_hasher import Argon2Hasher
from services.identity.adapters.providers import SignedAssertions, SignedCaptcha
from services.identity.adapters.sessions import RedisSessionStore
from services.identity.adapters.totp_window import RedisTotpWindow
from services.identity.service_layer.context import IdentityContext
from services.identity.service_layer.ports import (
    AppealRepository,
    CaptchaProvider,
    CodeStore,
    DeviceRepository,
    ErasureRepository,
    FlowRepository,
    IdentityProvider,
    LoginGuard,
    MfaDeviceRepository,
    PasswordHasher,
    Repository,
    SecretBox,
    SessionStore,
    TotpWindow,
    UsedCaptchaTickets,
)
from services.identity.settings import IdentitySettings
from shared.auth import LocalKeys, TokenSigner, key_id, public_key
from shared.runtime import Runtime
from shared.secret_box import SecretBox as AesGcmSecretBox

# MFA-6: the associated data of a TOTP secret names it, its account and its key id.
MFA_SECRET_PURPOSE = "identity.mfa-secret"


def bootstrap(
    settings: IdentitySettings,
    *,
    runtime: Runtime,
    repo: Repository | None = None,
    device_repo: DeviceRepository | None = None,
    flow_repo: FlowRepository | None = None,
    appeals: AppealRepository | None = None,
    hasher: PasswordHasher | None = None,
    guard: LoginGuard | None = None,
    codes: CodeStore | None = None,
    sessions: SessionStore | None = None,
    idp: IdentityProvider | None = None,
    captcha: CaptchaProvider | None = None,
    captcha_tickets: UsedCaptchaTickets | None = None,
    mfa_device_repo: MfaDeviceRepository | None = None,
    secret_box: SecretBox | None = None,
    totp_window: TotpWindow | None = None,
    erasure: ErasureRepository | None = None,
) -> IdentityContext:
    """The use cases' context: every port given, or else the real adapter."""
    redis, prefix = runtime.redis, settings.redis_key_prefix
    return IdentityContext(
        runtime=runtime,
        settings=settings,
        repo=repo or repository,
        device_repo=device_repo or device_repository,
        flow_repo=flow_repo or flow_repository,
        appeals=appeals or appeal_repository,
        hasher=hasher or Argon2Hasher(settings),
        guard=guard
        or RedisLoginGuard(
            redis,
            prefix,
            captcha_after=settings.login_captcha_after,
            lock_after=settings.login_lock_after,
            lock_window_s=settings.login_lock_window_s,
            failure_budget=settings.login_failure_budget,
            ip_failures=settings.login_ip_failures,
            ip_window_s=settings.login_ip_window_s,
        ),
        codes=codes
        or RedisCodeStore(
            redis,
            prefix,
            hmac_key=settings.code_hmac_key.get_secret_value(),
            ttl_s=settings.code_ttl_s,
            max_tries=settings.code_max_tries,
            per_minute=settings.code_per_minute,
            per_day=settings.code_per_day,
            max_tries_per_day=settings.code_max_tries_per_day,
        ),
        sessions=sessions
        or RedisSessionStore(
            redis,
            prefix,
            signer=token_signer(settings),
            keys=LocalKeys(verification_keys(settings)),
            ttl_s=settings.session_ttl_s,
            max_s=settings.session_max_s,
        ),
        idp=idp or identity_provider(settings),
        captcha=captcha or captcha_provider(settings),
        captcha_tickets=captcha_tickets or RedisCaptchaTickets(redis, prefix),
        mfa_devices=mfa_device_repo or mfa_devices,
        secret_box=secret_box
        or AesGcmSecretBox.from_settings(
            settings.mfa_encryption_keys.get_secret_value(),
            settings.mfa_encryption_key_id,
            purpose=MFA_SECRET_PURPOSE,
        ),
        totp_window=totp_window or RedisTotpWindow(redis, prefix),
        erasure=erasure or erasure_repository,
    )


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
