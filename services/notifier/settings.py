"""Settings of the notifier service (environment variables, see the README's table)."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator

from shared.timers.settings import TimerSettings


class NotifierSettings(TimerSettings):
    """The notifier's settings: where mail and SMS go out, how deliveries are retried, and
    the erasure's rules (CAN-7); the timer worker's are TimerSettings' (shared/timers)."""

    service_name: str = "notifier"
    http_port: int = 8004

    smtp_host: str = Field("127.0.0.1", description="SMTP server host.")
    smtp_port: int = Field(1025, description="SMTP server port.")
    smtp_username: str | None = Field(None, description="SMTP user, if the server wants one.")
    smtp_password: str | None = Field(None, description="SMTP password.")
    smtp_tls: Literal["none", "starttls", "tls"] = Field(
        "none", description="none, starttls or tls (implicit TLS)."
    )
    smtp_timeout_s: float = Field(10.0, description="SMTP connect and command timeout.")
    smtp_pool_size: int = Field(
        8, ge=1, description="Most SMTP connections open at once (kept open between messages)."
    )
    smtp_pool_idle_s: float = Field(
        30.0, description="A pooled SMTP connection idle longer than this is closed."
    )
    mail_from: str = Field(
        "Account Center <no-reply@account.example.com>", description="Sender address."
    )

    trusted_producers: str = Field(
        "identity",
        description="Services whose NotificationRequested the notifier acts on, comma "
        "separated; a request from any other producer is dead-lettered (untrusted_producer).",
    )

    sms_api_url: str = Field(
        "http://127.0.0.1:8026/sms/send",
        description="Send endpoint of the SMS provider's HTTP API (the SMS sink in dev).",
    )
    sms_app_id: str = Field("account-center", description="Application id at the SMS provider.")
    sms_sign_name: str = Field(
        "Account Center", description="Sign name the provider puts in front of every SMS."
    )
    sms_secret_key: SecretStr | None = Field(
        None, description="Key that signs each SMS request (HMAC-SHA256); unset: unsigned."
    )
    sms_timeout_s: float = Field(5.0, description="SMS provider connect and read timeout.")

    delivery_max_attempts: int = Field(5, description="Tries of a delivery before it fails.")
    delivery_backoff_s: float = Field(1.0, description="First retry delay; doubles per try.")
    delivery_backoff_max_s: float = Field(300.0, description="Longest retry delay.")
    delivery_poll_interval_s: float = Field(
        0.5, description="Longest wait before the courier looks for due deliveries again."
    )
    delivery_concurrency: int = Field(
        16, ge=1, description="Deliveries one notifier process sends at the same time."
    )
    delivery_claim_batch: int = Field(
        64, ge=1, description="Most due deliveries claimed in one transaction."
    )
    delivery_lease_s: float = Field(
        60.0,
        description="How long a delivery being sent stays claimed; a crashed sender's claim "
        "expires after it and another worker resends with the same idempotency key.",
    )
    delivery_contacts_grace_s: float = Field(
        60.0,
        description="How long a delivery waits for the account's contacts to arrive before it "
        "fails with no_destination.",
    )

    erasure_max_wait_s: float = Field(
        3600.0,
        gt=0,
        description="CAN-7: how long the erasure of a cancelled account waits for its pending "
        "deliveries (the completion notice first) before it erases anyway; also how long "
        "identity's tombstone waits for CancellationCompleted.",
    )
    erasure_recheck_s: float = Field(
        2.0, gt=0, description="How often an erasure waiting for deliveries looks again."
    )

    operator_token: SecretStr | None = Field(
        None,
        description="Bearer token of the operator endpoints; unset: they answer 503.",
    )

    @property
    def trusted_producer_names(self) -> frozenset[str]:
        return frozenset(p.strip() for p in self.trusted_producers.split(",") if p.strip())

    @model_validator(mode="after")
    def _lease_outlives_a_send(self) -> Self:
        # A live sender gives up after half the lease (and at least one provider timeout),
        # so its claim never passes to another worker while it is still sending.
        if self.delivery_lease_s < 2 * max(self.smtp_timeout_s, self.sms_timeout_s):
            raise ValueError(
                "DELIVERY_LEASE_S must be at least twice SMTP_TIMEOUT_S and SMS_TIMEOUT_S"
            )
        return self
