"""Schemathesis over identity's, verification's and the notifier's OpenAPI (issue 8 item 2;
ASVS 5.1.4, 13.1.x): each service runs as its own process (real uvicorn) and every documented
operation gets a bounded number of generated requests, valid and invalid. No answer may be a
5xx, and every answer must match what the OpenAPI documents (status, content type, schema)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import jwt
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from devkit.testing.accounts import UNLIMITED_CODES, register_by_email
from devkit.testing.infra import Infra, Scope
from devkit.testing.services import ServiceProcess
from devkit.testing.tokens import DevTokens
from services.cancellation.main import spec as cancellation_spec
from services.cancellation.settings import CancellationSettings
from services.identity.main import spec as identity_spec
from services.identity.settings import IdentitySettings
from services.notifier.main import spec as notifier_spec
from services.notifier.settings import NotifierSettings
from services.verification.main import spec as verification_spec
from services.verification.settings import VerificationSettings
from shared.service import ServiceSpec, create_app

pytestmark = pytest.mark.integration

EXAMPLES = settings(
    max_examples=20,
    deadline=None,
    database=None,
    derandomize=True,  # the same requests every run: a failure reproduces
    suppress_health_check=list(HealthCheck),
)
# Semantic refusals (a schema-valid but unknown phone number: 400 PHONE_INVALID) are the
# point of the domain rules, so "schema-valid data must be accepted" does not apply; every
# other default check does: no 5xx, documented status, content type and schema, invalid
# data never accepted.
NOT_APPLICABLE = [schemathesis.checks.positive_data_acceptance]
FAST_HASH = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_KIB": 1024}
OPERATOR_TOKEN = "fuzz-operator-token-0123456789abcdef"
OPERATOR = {"authorization": f"Bearer {OPERATOR_TOKEN}", "x-operator-id": "fuzz"}


@pytest.fixture(scope="module")
def identity_scope(infra: Infra) -> Scope:
    return infra.scope()


@pytest.fixture(scope="module")
def identity_process(
    identity_scope: Scope, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    codes = {k.upper(): v for k, v in UNLIMITED_CODES.items()}
    env = identity_scope.env(**FAST_HASH, **codes, OPERATOR_TOKEN=OPERATOR_TOKEN)
    process = ServiceProcess("identity", env, tmp_path_factory.mktemp("identity"))
    process.start().wait_ready()
    yield process
    process.stop()
    log = process.log_path.read_text(errors="replace")
    assert "Traceback" not in log and "http_unhandled_error" not in log, process.log_tail()


@pytest.fixture(scope="module")
def notifier_process(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    env = infra.scope().env(OPERATOR_TOKEN=OPERATOR_TOKEN)
    process = ServiceProcess("notifier", env, tmp_path_factory.mktemp("notifier"))
    process.start().wait_ready()
    yield process
    process.stop()
    log = process.log_path.read_text(errors="replace")
    assert "Traceback" not in log and "http_unhandled_error" not in log, process.log_tail()


@pytest.fixture(scope="module")
async def identity_auth(
    identity_process: ServiceProcess, identity_scope: Scope, infra: Infra
) -> AsyncIterator[dict[str, str]]:
    """A live session, so the authenticated operations are fuzzed past their 401."""
    async with httpx.AsyncClient(base_url=identity_process.url, timeout=30) as client:
        registered = await register_by_email(
            client,
            kafka=infra.kafka,
            topic_prefix=identity_scope.prefix,
            email="fuzz@example.com",
            phone="+8613900009999",
        )
        assert registered.status_code == 201, registered.text
        login = await client.post(
            "/v1/sessions",
            json={"method": "password", "email": "fuzz@example.com", "password": "Secr3t!pass"},
        )
        assert login.status_code == 201, login.text
        yield {"authorization": f"Bearer {login.json()['access_token']}"}


@pytest.fixture(scope="module")
def verification_process(
    identity_process: ServiceProcess,
    identity_scope: Scope,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServiceProcess]:
    """Verification in identity's namespace: it learns identity's accounts from its events
    and verifies identity's (dev-mode) tokens with identity's JWKS."""
    env = identity_scope.env(
        OPERATOR_TOKEN=OPERATOR_TOKEN,
        IDENTITY_JWKS_URL=f"{identity_process.url}/.well-known/jwks.json",
    )
    process = ServiceProcess("verification", env, tmp_path_factory.mktemp("verification"))
    process.start().wait_ready()
    yield process
    process.stop()
    log = process.log_path.read_text(errors="replace")
    assert "Traceback" not in log and "http_unhandled_error" not in log, process.log_tail()


@pytest.fixture(scope="module")
def cancellation_process(
    identity_process: ServiceProcess,
    identity_scope: Scope,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServiceProcess]:
    """Cancellation in identity's namespace, verifying identity's tokens with its JWKS."""
    env = identity_scope.env(
        OPERATOR_TOKEN=OPERATOR_TOKEN,
        IDENTITY_JWKS_URL=f"{identity_process.url}/.well-known/jwks.json",
    )
    process = ServiceProcess("cancellation", env, tmp_path_factory.mktemp("cancellation"))
    process.start().wait_ready()
    yield process
    process.stop()
    log = process.log_path.read_text(errors="replace")
    assert "Traceback" not in log and "http_unhandled_error" not in log, process.log_tail()


def openapi_of(service: ServiceSpec) -> schemathesis.schemas.BaseSchema:
    """The document the service serves at /openapi.json, built without starting it (the
    schema must exist when pytest collects; the process starts only if the test runs)."""
    return schemathesis.openapi.from_dict(create_app(service).openapi())


identity_schema = openapi_of(identity_spec(IdentitySettings(dev_mode=True)))
notifier_schema = openapi_of(notifier_spec(NotifierSettings()))
verification_schema = openapi_of(verification_spec(VerificationSettings(dev_mode=True)))
cancellation_schema = openapi_of(cancellation_spec(CancellationSettings()))


@identity_schema.parametrize()
@EXAMPLES
def test_identity_answers_every_generated_request_as_documented(
    case: schemathesis.Case[Any], identity_process: ServiceProcess, identity_auth: dict[str, str]
) -> None:
    operator = case.path.startswith("/v1/operator/")
    case.call_and_validate(
        base_url=identity_process.url,
        headers=OPERATOR if operator else identity_auth,
        excluded_checks=NOT_APPLICABLE,
        timeout=30,
    )


@notifier_schema.parametrize()
@EXAMPLES
def test_notifier_answers_every_generated_request_as_documented(
    case: schemathesis.Case[Any], notifier_process: ServiceProcess
) -> None:
    case.call_and_validate(
        base_url=notifier_process.url,
        headers=OPERATOR,
        excluded_checks=NOT_APPLICABLE,
        timeout=30,
    )


@verification_schema.parametrize()
@EXAMPLES
def test_verification_answers_every_generated_request_as_documented(
    case: schemathesis.Case[Any],
    verification_process: ServiceProcess,
    identity_auth: dict[str, str],
) -> None:
    """With the fuzz account's token, stepped up just now (signed with the dev key that the
    dev-mode identity publishes), so submissions get past authentication and PROT-1."""
    token = identity_auth["authorization"].removeprefix("Bearer ")
    account_id = jwt.decode(token, options={"verify_signature": False})["sub"]
    case.call_and_validate(
        base_url=verification_process.url,
        headers=DevTokens().headers(account_id, step_up=True),
        excluded_checks=NOT_APPLICABLE,
        timeout=30,
    )


@cancellation_schema.parametrize()
@EXAMPLES
def test_cancellation_answers_every_generated_request_as_documented(
    case: schemathesis.Case[Any],
    cancellation_process: ServiceProcess,
    identity_auth: dict[str, str],
) -> None:
    """With the fuzz account's token, stepped up just now: past CAN-9 and CAN-1's checks;
    the operator endpoints with the operator credential."""
    token = identity_auth["authorization"].removeprefix("Bearer ")
    account_id = jwt.decode(token, options={"verify_signature": False})["sub"]
    operator = case.path.startswith("/v1/operator/")
    case.call_and_validate(
        base_url=cancellation_process.url,
        headers=OPERATOR if operator else DevTokens().headers(account_id, step_up=True),
        excluded_checks=NOT_APPLICABLE,
        timeout=30,
    )
