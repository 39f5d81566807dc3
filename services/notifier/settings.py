"""Settings of the notifier service (environment variables, see the README's table)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    """The notifier's settings: where mail goes out and how deliveries are retried."""

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
    mail_from: str = Field(
        "Account Center <no-reply@account.example.com>", description="Sender address."
    )
    delivery_max_attempts: int = Field(5, description="Tries of a delivery before it fails.")
    delivery_backoff_s: float = Field(1.0, description="First retry delay; doubles per try.")
    delivery_backoff_max_s: float = Field(300.0, description="Longest retry delay.")
    delivery_poll_interval_s: float = Field(
        0.5, description="Longest wait before the dispatcher looks for due deliveries again."
    )
