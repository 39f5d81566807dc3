"""Settings of the cancellation service (environment variables, see the README's table)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, SecretStr

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

    # Timers (cooling-off ends, re-evaluations): due rows, see shared/timers.
    timer_poll_interval_s: float = Field(
        1.0, gt=0, description="How often the timer worker looks for due timers when idle."
    )
    timer_claim_batch: int = Field(
        50, ge=1, le=1000, description="Timers claimed in one transaction."
    )
    timer_lease_s: float = Field(
        60.0,
        gt=0,
        description="How long a claimed timer is a worker's; a timer claimed by a process "
        "that died is due again after it.",
    )
    timer_retry_backoff_s: float = Field(
        5.0,
        gt=0,
        description="First wait before a timer whose effect failed fires again "
        "(doubling, at most 10 minutes).",
    )

    @property
    def cooling_off(self) -> timedelta:
        """CAN-5: how long an application cools off."""
        if self.cooling_off_s is not None:
            return timedelta(seconds=self.cooling_off_s)
        return timedelta(days=self.cooling_off_days)
