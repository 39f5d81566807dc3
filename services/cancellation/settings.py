"""Settings of the cancellation service (environment variables, see the README's table)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, SecretStr

from shared.timers.settings import TimerSettings


class CancellationSettings(TimerSettings):
    """The cancellation service's settings: every duration of its rules."""

    service_name: str = "cancellation"
    http_port: int = 8003

    cooling_off_days: int = Field(
        15,
        ge=0,
        le=365,
        description="CAN-5: days between an application and the account's cancellation, so "
        "that late bills arrive; the applicant may withdraw during them (the rules leave the "
        "length open; 15 days). Used unless COOLING_OFF_S is set.",
    )
    cooling_off_s: int | None = Field(
        None,
        ge=0,
        le=365 * 86400,
        description="CAN-5: the cooling-off period in seconds, overriding COOLING_OFF_DAYS "
        "when set (tests and demos shrink it); unset: COOLING_OFF_DAYS days.",
    )
    operator_token: SecretStr | None = Field(
        None, description="Bearer token of the operator endpoints; unset: they answer 503."
    )

    @property
    def cooling_off(self) -> timedelta:
        """CAN-5: how long an application cools off."""
        if self.cooling_off_s is not None:
            return timedelta(seconds=self.cooling_off_s)
        return timedelta(days=self.cooling_off_days)
