"""Settings of the verification service (environment variables, see the README's table)."""

from __future__ import annotations

from shared.settings import ServiceSettings


class VerificationSettings(ServiceSettings):
    """The verification service's settings."""

    service_name: str = "verification"
    http_port: int = 8002
