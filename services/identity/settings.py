"""Settings of the identity service (environment variables, see the README's table)."""

from __future__ import annotations

from pydantic import Field, field_validator

from shared.settings import ServiceSettings

# Dev-only keys: every deployment sets its own (the README says how to make them).
DEV_SIGNING_KEY = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIBd6yFCXRSjqzo2C2DnC7obpD3FvXfNfKyGmc+w0pgkN\n"
    "-----END PRIVATE KEY-----\n"
)


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

    # CODE-1..3
    code_ttl_s: int = Field(300, description="One-time code lifetime.")
    code_max_tries: int = Field(5, description="Wrong tries before a code is void.")
    code_per_minute: int = Field(1, description="Codes a destination may get per minute.")
    code_per_day: int = Field(10, description="Codes a destination may get per day.")
    code_hmac_key: str = Field(
        "dev-only-code-key-change-me", description="Key of the HMAC codes are stored as."
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
    session_signing_key: str = Field(
        DEV_SIGNING_KEY, description="Ed25519 private key (PEM) that signs access tokens."
    )

    @field_validator("session_signing_key")
    @classmethod
    def _pem_on_one_line(cls, value: str) -> str:
        """Environment files hold one line: accept the PEM with literal \\n separators."""
        return value.replace("\\n", "\n")

    # Providers (REG-6, LOGIN-1)
    dev_mode: bool = Field(
        False, description="Expose /v1/dev endpoints (mint fake assertions and captcha tickets)."
    )
    fake_provider_secret: str = Field(
        "dev-only-fake-provider-secret-change-me",
        description="Key of the fake identity/captcha providers.",
    )
    assertion_audience: str = Field(
        "account-center", description="Audience identity assertions must name."
    )
