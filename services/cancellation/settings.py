"""Settings of the cancellation service (environment variables, see the README's table)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class CancellationSettings(ServiceSettings):
    """The cancellation service's settings: every duration of its rules."""

    service_name: str = "cancellation"
    http_port: int = 8003

    cooling_off_days: int = Field(
        15,
        ge=0,
        le=365,
        description="CAN-5: days between an application and the account's cancellation, so "
        "that late bills arrive; the applicant may withdraw during them (the rules leave the "
        "length open; 15 days).",
    )
