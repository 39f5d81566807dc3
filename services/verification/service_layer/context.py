"""Verification's wiring: the adapters its use cases need, built once per process."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from random import Random, SystemRandom

from services.verification.adapters.enterprises import (
    Bank,
    EnterpriseChecks,
    EnterpriseRegistry,
    FakeEnterpriseGateway,
    HttpEnterpriseGateway,
)
from services.verification.adapters.persons import (
    FakePersonProvider,
    HttpPersonProvider,
    PersonProvider,
)
from services.verification.adapters.sensitive import SensitiveData
from services.verification.adapters.submissions import RedisSubmissionCounter
from services.verification.domain.errors import FakeNotSelected
from services.verification.settings import VerificationSettings
from shared.runtime import Runtime
from shared.secret_box import current_key_id, parse_key_ring

PRODUCER = "verification"


@dataclass
class VerificationContext:
    """Everything a use case may touch; tests build one with fakes where they need to."""

    runtime: Runtime
    settings: VerificationSettings
    persons: PersonProvider
    sensitive: SensitiveData
    submissions: RedisSubmissionCounter
    registry: EnterpriseRegistry
    enterprise_checks: EnterpriseChecks
    bank: Bank
    rng: Random = field(default_factory=SystemRandom)  # RN-5's random amounts

    def now(self) -> datetime:
        return self.runtime.clock.now()

    @property
    def fake_persons(self) -> FakePersonProvider:
        """The fake person provider (dev mode); /v1/dev and tests drive it."""
        if not isinstance(self.persons, FakePersonProvider):
            raise FakeNotSelected("PERSON_PROVIDER is not `fake`: nothing to drive.")
        return self.persons

    @property
    def fake_enterprises(self) -> FakeEnterpriseGateway:
        """The fake registry, enterprise checks and bank (dev mode); /v1/dev drives them."""
        if not isinstance(self.registry, FakeEnterpriseGateway):
            raise FakeNotSelected("ENTERPRISE_GATEWAY is not `fake`: nothing to drive.")
        return self.registry


def person_provider(runtime: Runtime, settings: VerificationSettings) -> PersonProvider:
    """The adapter PERSON_PROVIDER selects (settings.refusals() vetted the choice)."""
    if settings.person_provider_in_use == "fake":
        return FakePersonProvider(runtime.redis, settings.redis_key_prefix)
    assert settings.person_provider_url and settings.person_provider_token, settings.refusals()
    return HttpPersonProvider(
        settings.person_provider_url, settings.person_provider_token.get_secret_value()
    )


def enterprise_gateway(
    runtime: Runtime, settings: VerificationSettings
) -> FakeEnterpriseGateway | HttpEnterpriseGateway:
    """The adapter ENTERPRISE_GATEWAY selects: registry, instant checks and bank at once."""
    if settings.enterprise_gateway_in_use == "fake":
        return FakeEnterpriseGateway(runtime.redis, settings.redis_key_prefix)
    assert settings.enterprise_gateway_url and settings.enterprise_gateway_token, (
        settings.refusals()
    )
    return HttpEnterpriseGateway(
        settings.enterprise_gateway_url, settings.enterprise_gateway_token.get_secret_value()
    )


def sensitive_data(settings: VerificationSettings) -> SensitiveData:
    ring = settings.id_encryption_keys.get_secret_value()
    return SensitiveData(
        parse_key_ring(ring),
        current_key_id(ring, settings.id_encryption_key_id),
        hash_key=settings.id_hash_key.get_secret_value().encode(),
    )


def build(runtime: Runtime) -> VerificationContext:
    """The real adapters the settings select (settings.refusals() vetted them)."""
    settings = runtime.settings
    assert isinstance(settings, VerificationSettings)
    gateway = enterprise_gateway(runtime, settings)
    return VerificationContext(
        runtime=runtime,
        settings=settings,
        persons=person_provider(runtime, settings),
        sensitive=sensitive_data(settings),
        submissions=RedisSubmissionCounter(runtime.redis, settings.redis_key_prefix),
        registry=gateway,
        enterprise_checks=gateway,
        bank=gateway,
    )


def verification_context(runtime: Runtime) -> VerificationContext:
    """The process's context, built at app creation (ServiceSpec.bootstrap)."""
    context = runtime.context
    assert isinstance(context, VerificationContext), "main.spec wires build() as bootstrap"
    return context
