"""Settings of the cancellation service (environment variables, see the README's table)."""

from __future__ import annotations

from shared.settings import ServiceSettings


class CancellationSettings(ServiceSettings):
    """The cancellation service's settings."""

    service_name: str = "cancellation"
    http_port: int = 8003
