"""Settings of the verification service (environment variables, see the README's table)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from shared.secret_box import key_ring_refusals, key_ring_spec
from shared.timers.settings import TimerSettings

# Dev-only keys: every deployment sets its own (the README says how to make them); outside
# dev mode the service refuses to start while any of them is left (`refusals`).
DEV_ID_HASH_KEY = "dev-only-id-hash-key-change-me-please"
DEV_ID_KEY = b"dev-only-id-number-key-change-me"  # 32 bytes: AES-256
DEV_ID_ENCRYPTION_KEYS = key_ring_spec("dev-1", DEV_ID_KEY)
MIN_HMAC_KEY_CHARS = 32

Provider = Literal["fake", "http"]


class VerificationSettings(TimerSettings):
    """The verification service's settings: every limit and duration of its rules."""

    service_name: str = "verification"
    http_port: int = 8002

    dev_mode: bool = Field(
        False,
        description="Dev mode: the fake person provider and the committed keys are allowed, "
        "and /v1/dev endpoints drive the fake. Off, the service refuses to start while any "
        "of them is in use.",
    )
    operator_token: SecretStr | None = Field(
        None, description="Bearer token of the operator endpoints; unset: they answer 503."
    )

    # RN-3
    identity_max_accounts: int = Field(
        3, ge=1, description="RN-3: accounts one personal identity may verify."
    )
    minimum_age_years: int = Field(
        18, ge=0, description="RN-3: the person's age on the day of the check (China time)."
    )
    person_submissions_per_day: int = Field(
        10,
        ge=1,
        description="Personal submissions one account may make per day (China time), valid "
        "ones only: each may cost a paid provider check, and names and ID numbers are not to "
        "be guessed through it.",
    )
    quota_lease_s: float = Field(
        60.0,
        gt=0,
        description="How long a submission holds its place in an identity's quota while the "
        "provider checks it; a place not confirmed by then (a crash) is free again. Keep it "
        "well above PERSON_PROVIDER_TIMEOUT_S.",
    )
    # RN-4
    international_site_url: str = Field(
        "https://intl.cloud.example.com/account/real-name",
        max_length=500,
        description="RN-4: where international users, and enterprises of Hong Kong, Macao "
        "and Taiwan residents, are sent to verify.",
    )

    # RN-2: the provider of the instant personal methods (WeChat scan, QQ scan, face).
    person_provider: Provider | None = Field(
        None,
        description="Adapter of the instant personal checks: `http` (the real-name gateway "
        "at PERSON_PROVIDER_URL) or `fake` (dev mode only, told what to answer through "
        "/v1/dev). Unset: `fake` in dev mode, a refusal to start otherwise.",
    )
    person_provider_url: str | None = Field(
        None, max_length=500, description="URL the `http` person provider POSTs checks to."
    )
    person_provider_token: SecretStr | None = Field(
        None, description="Bearer token of the `http` person provider."
    )
    person_provider_timeout_s: float = Field(
        10.0, gt=0, description="RN-2: longest wait for an instant check; then 504."
    )

    # RN-5..RN-8, RN-15: enterprises.
    enterprise_max_accounts: int = Field(
        10,
        ge=1,
        description="RN-7: accounts one enterprise (its Unified Social Credit Code) may "
        "verify by default; an operator raises one enterprise's limit "
        "(PUT /v1/operator/enterprises/{uscc}/limit).",
    )
    recharge_window_s: float = Field(
        7 * 86400.0,
        gt=0,
        description="RN-5: how long the account has to pay the random amount from the "
        "corporate account (7 days).",
    )
    remittance_window_s: float = Field(
        7 * 86400.0,
        gt=0,
        description="RN-5: how long the user has to enter the amount the platform sent, "
        "from the bank's acceptance of the transfer (7 days).",
    )
    remittance_max_tries: int = Field(
        2,
        ge=1,
        description="RN-5: wrong amounts allowed before the bank account must be submitted again.",
    )
    remittances_per_day: int = Field(
        3,
        ge=1,
        description="RN-5: remittances one account may start in 24 hours (each sends money; "
        "a wrong amount twice, then the bank account again, is the way to ask for another).",
    )
    licence_registry_delay_working_days: int = Field(
        7,
        ge=0,
        description="RN-15: a business licence issued fewer working days ago than this "
        "(Monday to Friday) may not be in the registry yet: LICENCE_TOO_NEW instead of "
        "ENTERPRISE_NOT_IN_REGISTRY.",
    )
    enterprise_gateway: Provider | None = Field(
        None,
        description="Adapter of the enterprise methods' outside parties (the registry, the "
        "WeChat official platform and legal-person checks, the bank that sends "
        "remittances): `http` (the gateway at ENTERPRISE_GATEWAY_URL) or `fake` (dev mode "
        "only, driven through /v1/dev). Unset: `fake` in dev mode, a refusal to start "
        "otherwise.",
    )
    enterprise_gateway_url: str | None = Field(
        None, max_length=500, description="Base URL of the `http` enterprise gateway."
    )
    enterprise_gateway_token: SecretStr | None = Field(
        None, description="Bearer token of the `http` enterprise gateway."
    )
    enterprise_gateway_timeout_s: float = Field(
        10.0, gt=0, description="RN-5: longest wait for the enterprise gateway; then 504."
    )

    # RN-9..RN-11: changes.
    change_min_interval_s: float = Field(
        30 * 86400.0,
        ge=0,
        description="RN-9: a change other than personal to enterprise waits this long after "
        "the last authentication (30 days).",
    )
    change_review_working_days: int = Field(
        3,
        ge=1,
        le=60,
        description="RN-11: the review period of an enterprise change, in working days "
        "(Monday to Friday, China time); a change still under review at its end is escalated "
        "(flagged `overdue` in the operators' list, logged), never decided by the clock.",
    )

    # RN-13: periodic re-checks of enterprises.
    recheck_interval_s: float = Field(
        90 * 86400.0,
        ge=0,
        description="RN-13: a verified enterprise is re-checked against the registry this "
        "long after its verification or its last re-check (90 days).",
    )
    recheck_grace_s: float = Field(
        15 * 86400.0,
        gt=0,
        description="RN-13: after the notice (RealNameRecheckFailed), how long the registry "
        "has to agree again before the account turns unverified (15 days).",
    )
    recheck_sweep_interval_s: float = Field(
        3600.0,
        gt=0,
        description="RN-13: how often the re-check sweep looks for enterprises due.",
    )
    recheck_batch: int = Field(
        20, ge=1, le=500, description="RN-13: enterprises re-checked in one sweep transaction."
    )

    # RN-17: sensitive data at rest and in quotas.
    id_encryption_keys: SecretStr = Field(
        SecretStr(DEV_ID_ENCRYPTION_KEYS),
        description="RN-17: key ring of the ID numbers' (and bank accounts') AES-256-GCM: "
        "`key-id:base64-32-bytes`, comma-separated. Keep a retired key in the ring while "
        "data sealed under it remains. The committed dev key is refused outside dev mode.",
    )
    id_encryption_key_id: str | None = Field(
        None,
        description="Key id of ID_ENCRYPTION_KEYS that seals new data; unset: the ring's "
        "first key.",
    )
    id_hash_key: SecretStr = Field(
        SecretStr(DEV_ID_HASH_KEY),
        description="Key of the HMAC that identifies a person (and an enterprise) in quotas, "
        "never the clear number (at least 32 characters).",
    )

    @property
    def enterprise_gateway_in_use(self) -> Provider | None:
        return self.enterprise_gateway or ("fake" if self.dev_mode else None)

    @property
    def person_provider_in_use(self) -> Provider | None:
        return self.person_provider or ("fake" if self.dev_mode else None)

    def refusals(self) -> list[str]:
        """Why this configuration must not serve: a committed key or a fake outside dev
        mode, a provider without its address. Empty when it may start."""
        problems: list[str] = super().refusals()
        provider = self.person_provider_in_use
        if provider is None:
            problems.append("PERSON_PROVIDER is not set (choose `http`; `fake` is dev-only)")
        elif provider == "fake" and not self.dev_mode:
            problems.append("PERSON_PROVIDER=fake is for dev mode only")
        elif provider == "http" and not (self.person_provider_url and self.person_provider_token):
            problems.append("PERSON_PROVIDER=http needs PERSON_PROVIDER_URL and _TOKEN")
        gateway = self.enterprise_gateway_in_use
        if gateway is None:
            problems.append("ENTERPRISE_GATEWAY is not set (choose `http`; `fake` is dev-only)")
        elif gateway == "fake" and not self.dev_mode:
            problems.append("ENTERPRISE_GATEWAY=fake is for dev mode only")
        elif gateway == "http" and not (
            self.enterprise_gateway_url and self.enterprise_gateway_token
        ):
            problems.append("ENTERPRISE_GATEWAY=http needs ENTERPRISE_GATEWAY_URL and _TOKEN")
        problems.extend(
            key_ring_refusals(
                "ID_ENCRYPTION_KEYS",
                self.id_encryption_keys.get_secret_value(),
                self.id_encryption_key_id,
                dev_key=DEV_ID_KEY,
                dev_mode=self.dev_mode,
            )
        )
        hash_key = self.id_hash_key.get_secret_value()
        if not self.dev_mode and hash_key == DEV_ID_HASH_KEY:
            problems.append("ID_HASH_KEY is the committed dev-only key")
        elif len(hash_key) < MIN_HMAC_KEY_CHARS:
            problems.append(f"ID_HASH_KEY is shorter than {MIN_HMAC_KEY_CHARS} characters")
        return problems
