"""Settings of the identity service (environment variables, see the README's table)."""

from __future__ import annotations

from shared.settings import ServiceSettings


class IdentitySettings(ServiceSettings):
    """The identity service's settings."""

    service_name: str = "identity"
    http_port: int = 8001
