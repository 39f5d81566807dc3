"""Settings of the identity service (environment variables, see the README's table)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Literal

from cryptography.exceptions import UnsupportedAlgorithm
from pydantic import Field, SecretStr, field_validator

from shared.auth import key_id, private_key, public_key
from shared.secret_box import key_ring_refusals
from shared.settings import ServiceSettings

# Dev-only keys: every deployment sets its own (the README says how to make them); outside
# dev mode the service refuses to start while any of them is left (`refusals`).
DEV_SIGNING_KEY = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIBd6yFCXRSjqzo2C2DnC7obpD3FvXfNfKyGmc+w0pgkN\n"
    "-----END PRIVATE KEY-----\n"
)
DEV_CODE_HMAC_KEY = "dev-only-code-key-change-me"
DEV_FAKE_PROVIDER_SECRET = "dev-only-fake-provider-secret-change-me"
DEV_MFA_KEY = b"dev-only-mfa-secret-key-changeme"  # 32 bytes: AES-256
DEV_MFA_ENCRYPTION_KEYS = "dev-1:" + base64.b64encode(DEV_MFA_KEY).decode()
MIN_HMAC_KEY_CHARS = 32

Provider = Literal["fake", "signed"]


class IdentitySettings(ServiceSettings):
    """The identity service's settings: every limit and duration of its rules."""

    service_name: str = "identity"
    http_port: int = 8001

    # PWD-4: argon2id parameters (OWASP's second recommended set by default).
    argon2_time_cost: int = Field(2, description="argon2id iterations.")
    argon2_memory_kib: int = Field(19456, description="argon2id memory in KiB.")
    argon2_parallelism: int = Field(1, description="argon2id lanes.")

    # LOGIN-1..3
    login_captcha_after: int = Field(3, description="Wrong passwords a day before a captcha.")
    login_lock_after: int = Field(10, description="Failed attempts that lock password login.")
    login_lock_window_s: int = Field(
        3600, description="Lock length, counted from the first failure of the run."
    )
    login_failure_budget: int = Field(
        100,
        le=100,
        description="Consecutive failures (passwords and codes) after which password login "
        "stays locked until a reset or an operator (NIST SP 800-63B 5.2.2: at most 100).",
    )
    login_ip_failures: int = Field(
        30, description="Failed password checks one client IP may cause per window."
    )
    login_ip_window_s: int = Field(600, description="Window of LOGIN_IP_FAILURES.")
    lock_notice_interval_s: int = Field(
        86400, description="At most one lock notice per account in this time."
    )
    operator_token: SecretStr | None = Field(
        None, description="Bearer token of the operator endpoints; unset: they answer 503."
    )

    # CODE-1..3
    code_ttl_s: int = Field(300, description="One-time code lifetime.")
    code_max_tries: int = Field(5, description="Wrong tries before a code is void.")
    code_per_minute: int = Field(
        1, description="Codes a destination may get per minute, per purpose class."
    )
    code_per_day: int = Field(
        10, description="Codes a destination may get per UTC day, per purpose class."
    )
    code_max_tries_per_day: int = Field(
        10,
        description="Wrong tries a destination may make per UTC day across all its codes (per "
        "purpose class): a new code does not give new tries.",
    )
    code_client_per_hour: int = Field(
        20,
        description="Codes one client IP may ask for per hour on /v1/codes, and separately "
        "password resets on /v1/password-resets.",
    )
    code_sms_prefix_digits: int = Field(
        7, description="Digits of an E.164 number (country code included) that make its prefix."
    )
    code_sms_prefix_per_hour: int = Field(
        50, description="Codes to new phones in one number prefix per hour."
    )
    code_sms_global_per_hour: int = Field(
        2000, description="Codes to new phones per hour, all numbers together."
    )
    code_hmac_key: SecretStr = Field(
        SecretStr(DEV_CODE_HMAC_KEY), description="Key of the HMAC codes are stored as."
    )

    # MFA-1, MFA-6
    mfa_issuer: str = Field(
        "Account Center",
        description="Issuer an authenticator app shows beside the account (otpauth URI).",
    )
    mfa_encryption_keys: SecretStr = Field(
        SecretStr(DEV_MFA_ENCRYPTION_KEYS),
        description="Key ring of the TOTP secrets' AES-256-GCM: `key-id:base64-32-bytes`, "
        "comma-separated. Keep a retired key in the ring while secrets sealed under it remain.",
    )
    mfa_encryption_key_id: str | None = Field(
        None,
        description="Key id of MFA_ENCRYPTION_KEYS that seals new secrets; unset: the ring's "
        "first key.",
    )

    # LM-2, SEC-1
    wechat_accounts_per_person: int = Field(50, description="Accounts one WeChat may bind.")
    secure_phone_max_accounts: int = Field(5, description="Accounts one secure phone may guard.")

    # Sessions
    session_ttl_s: int = Field(
        30 * 60, description="Session lifetime without activity (slides with each request)."
    )
    session_max_s: int = Field(
        12 * 3600, description="Absolute session lifetime: log in again after it, active or not."
    )
    access_token_ttl_s: int = Field(300, description="Lifetime of one signed access token.")

    # LOGIN-5, LOGIN-6, PROT-1: flows, second factors and devices.
    flow_ttl_s: int = Field(600, description="How long a login or step-up flow stays open.")
    flow_retention_s: float = Field(
        86400, description="Expired login and step-up flows are deleted this long after expiry."
    )
    flow_max_failures: int = Field(
        5, description="Wrong second factors that close a flow (the account budget counts too)."
    )
    trusted_device_days: int = Field(
        7, description="LOGIN-5: how long 'trust this device' skips the second factor."
    )
    login_dormant_days: int = Field(
        30, description="LOGIN-6: a login after this many days without one notifies the owner."
    )
    session_signing_key: SecretStr = Field(
        SecretStr(DEV_SIGNING_KEY),
        description="Ed25519 private key (PEM) that signs access tokens.",
    )

    session_previous_public_key: str | None = Field(
        None,
        description="Ed25519 public key (PEM) of the previous signing key: during a rotation "
        "its tokens still verify and /.well-known/jwks.json still lists it. Unset once every "
        "token it signed has expired (ACCESS_TOKEN_TTL_S after the rotation).",
    )

    @field_validator("session_signing_key", mode="before")
    @classmethod
    def _pem_on_one_line(cls, value: object) -> object:
        """Environment files hold one line: accept the PEM with literal \\n separators."""
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        return value.replace("\\n", "\n") if isinstance(value, str) else value

    # Providers (REG-6, LOGIN-1)
    dev_mode: bool = Field(
        False,
        description="Dev mode: the fake providers and the committed keys are allowed, and "
        "/v1/dev endpoints mint fake assertions and captcha tickets. Off, identity refuses "
        "to start while any of them is in use.",
    )
    identity_provider: Provider | None = Field(
        None,
        description="Adapter that verifies third-party identity assertions: `signed` (EdDSA "
        "assertions of the OAuth gateway, IDENTITY_PROVIDER_PUBLIC_KEY) or `fake` (dev mode "
        "only). Unset: `fake` in dev mode, a refusal to start otherwise.",
    )
    identity_provider_public_key: str | None = Field(
        None, description="Ed25519 public key (PEM) of the OAuth gateway's assertions."
    )
    captcha_provider: Provider | None = Field(
        None,
        description="Adapter that verifies captcha tickets: `signed` (EdDSA tickets of the "
        "captcha gateway, CAPTCHA_PUBLIC_KEY) or `fake` (dev mode only). Unset: `fake` in dev "
        "mode, a refusal to start otherwise.",
    )
    captcha_public_key: str | None = Field(
        None, description="Ed25519 public key (PEM) of the captcha gateway's tickets."
    )
    fake_provider_secret: SecretStr = Field(
        SecretStr(DEV_FAKE_PROVIDER_SECRET),
        description="Key of the fake identity/captcha providers (dev mode only).",
    )
    assertion_audience: str = Field(
        "account-center", description="Audience identity assertions must name."
    )

    @field_validator(
        "identity_provider_public_key",
        "captcha_public_key",
        "session_previous_public_key",
        mode="before",
    )
    @classmethod
    def _public_pem_on_one_line(cls, value: object) -> object:
        return value.replace("\\n", "\n") if isinstance(value, str) else value

    @property
    def identity_provider_in_use(self) -> Provider | None:
        return self.identity_provider or ("fake" if self.dev_mode else None)

    @property
    def captcha_provider_in_use(self) -> Provider | None:
        return self.captcha_provider or ("fake" if self.dev_mode else None)

    def refusals(self) -> list[str]:
        """Why this configuration must not serve: a committed key or a fake outside dev
        mode, a provider without its key. Empty when it may start."""
        problems: list[str] = super().refusals()
        providers = (
            ("IDENTITY_PROVIDER", self.identity_provider_in_use, "IDENTITY_PROVIDER_PUBLIC_KEY"),
            ("CAPTCHA_PROVIDER", self.captcha_provider_in_use, "CAPTCHA_PUBLIC_KEY"),
        )
        for name, provider, key_name in providers:
            if provider is None:
                problems.append(f"{name} is not set (choose `signed`; `fake` is dev-only)")
            elif provider == "fake" and not self.dev_mode:
                problems.append(f"{name}=fake is for dev mode only")
            elif provider == "signed" and not getattr(self, key_name.lower()):
                problems.append(f"{name}=signed needs {key_name}")
            elif provider == "signed" and not _loads(public_key, getattr(self, key_name.lower())):
                problems.append(f"{key_name} is not an Ed25519 public key (PEM)")
        if not _loads(private_key, self.session_signing_key.get_secret_value()):
            problems.append("SESSION_SIGNING_KEY is not an Ed25519 private key (PEM)")
        previous = self.session_previous_public_key
        if previous and not _loads(public_key, previous):
            problems.append("SESSION_PREVIOUS_PUBLIC_KEY is not an Ed25519 public key (PEM)")
        elif previous and not self.dev_mode and _is_dev_public_key(previous):
            problems.append("SESSION_PREVIOUS_PUBLIC_KEY is the committed dev-only key")
        problems.extend(
            key_ring_refusals(
                "MFA_ENCRYPTION_KEYS",
                self.mfa_encryption_keys.get_secret_value(),
                self.mfa_encryption_key_id,
                dev_key=DEV_MFA_KEY,
                dev_mode=self.dev_mode,
            )
        )
        if self.dev_mode:
            return problems
        committed = {
            "SESSION_SIGNING_KEY": (self.session_signing_key, DEV_SIGNING_KEY),
            "CODE_HMAC_KEY": (self.code_hmac_key, DEV_CODE_HMAC_KEY),
        }
        for name, (secret, dev_value) in committed.items():
            if secret.get_secret_value() == dev_value:
                problems.append(f"{name} is the committed dev-only key")
        if self.code_hmac_key.get_secret_value() != DEV_CODE_HMAC_KEY and (
            len(self.code_hmac_key.get_secret_value()) < MIN_HMAC_KEY_CHARS
        ):
            problems.append(f"CODE_HMAC_KEY is shorter than {MIN_HMAC_KEY_CHARS} characters")
        return problems


def _loads(load: Callable[[str], object], pem: str) -> bool:
    try:
        load(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def _is_dev_public_key(pem: str) -> bool:
    return key_id(public_key(pem)) == key_id(private_key(DEV_SIGNING_KEY).public_key())
