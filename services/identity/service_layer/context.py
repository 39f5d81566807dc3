"""What every use case gets: the runtime, the settings and the ports (built by bootstrap)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

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
from shared.runtime import Runtime

PRODUCER = "identity"


@dataclass
class IdentityContext:
    """Everything a use case may touch; services/identity/bootstrap.py builds it, and tests
    pass their own ports to bootstrap (or dataclasses.replace one) where they need to."""

    runtime: Runtime
    settings: IdentitySettings
    repo: Repository
    device_repo: DeviceRepository
    flow_repo: FlowRepository
    appeals: AppealRepository
    hasher: PasswordHasher
    guard: LoginGuard
    codes: CodeStore
    sessions: SessionStore
    idp: IdentityProvider
    captcha: CaptchaProvider
    captcha_tickets: UsedCaptchaTickets
    mfa_devices: MfaDeviceRepository
    secret_box: SecretBox
    totp_window: TotpWindow
    erasure: ErasureRepository

    def now(self) -> datetime:
        return self.runtime.clock.now()

    def login_subject(self, email_key: str) -> str:
        """The lockout subject of a login identifier (see `login_subject`)."""
        return login_subject(email_key, self.settings.code_hmac_key.get_secret_value())


def context_of(runtime: Runtime) -> IdentityContext:
    """The context bootstrap built for this process (ServiceSpec.bootstrap, at app creation)."""
    context = runtime.context
    assert isinstance(context, IdentityContext), "identity's spec() wires its bootstrap"
    return context


def login_subject(email_key: str, hmac_key: str) -> str:
    """Lockout counters are keyed by the login identifier, not the account, so an unknown
    email behaves exactly like a known one (no account enumeration through the lock). Keyed
    (SEC-5): an unkeyed hash of an email is reversed by hashing a list of known emails."""
    message = f"login-subject:{email_key}".encode()
    return hmac.new(hmac_key.encode(), message, hashlib.sha256).hexdigest()[:32]
