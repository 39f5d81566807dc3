"""shared/operators.py: operator endpoints need the bearer credential and a named operator."""

from __future__ import annotations

from types import SimpleNamespace

import httpx
import pytest
import structlog.testing
from fastapi import Depends, FastAPI
from pydantic import SecretStr

from shared.errors import install_error_handlers
from shared.operators import Operator, fingerprint, require_operator, token_matches

pytestmark = pytest.mark.unit


def app(token: str | None) -> FastAPI:
    api = FastAPI()
    install_error_handlers(api)
    api.state.runtime = SimpleNamespace(
        settings=SimpleNamespace(operator_token=SecretStr(token) if token else None)
    )

    @api.get("/ops")
    async def ops(operator: Operator = Depends(require_operator)) -> dict[str, str]:
        return {"operator": operator.operator_id}

    return api


async def call(api: FastAPI, headers: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get("/ops", headers=headers)


async def test_not_4_without_a_configured_token_operator_endpoints_are_closed() -> None:
    reply = await call(app(None), {"Authorization": "Bearer anything", "X-Operator-Id": "a"})
    assert reply.status_code == 503
    assert reply.json()["error"]["code"] == "OPERATOR_ACCESS_NOT_CONFIGURED"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic c2VjcmV0", "X-Operator-Id": "a"},
        {"Authorization": "Bearer wrong", "X-Operator-Id": "a"},
        {"Authorization": "Bearer s3cret"},
    ],
)
async def test_not_4_a_missing_or_wrong_credential_or_no_operator_id_is_refused(
    headers: dict[str, str],
) -> None:
    reply = await call(app("s3cret"), headers)
    assert reply.status_code == 401
    assert reply.json()["error"]["code"] == "OPERATOR_UNAUTHENTICATED"


async def test_not_4_the_right_credential_names_the_operator() -> None:
    reply = await call(app("s3cret"), {"Authorization": "Bearer s3cret", "X-Operator-Id": "ops-1"})
    assert reply.status_code == 200
    assert reply.json() == {"operator": "ops-1"}


def test_tokens_are_compared_in_constant_time_and_never_logged_in_clear() -> None:
    assert token_matches("abc", "abc") and not token_matches("abc", "abd")
    assert "s3cret" not in fingerprint("s3cret") and len(fingerprint("s3cret")) == 12


async def test_not_4_every_operator_request_is_audit_logged_without_the_token() -> None:
    with structlog.testing.capture_logs() as logs:
        await call(app("s3cret"), {"Authorization": "Bearer s3cret", "X-Operator-Id": "ops-1"})
        await call(app("s3cret"), {"Authorization": "Bearer nope", "X-Operator-Id": "ops-2"})
    allowed, refused = logs
    assert allowed["event"] == "operator_request" and allowed["operator"] == "ops-1"
    assert allowed["path"] == "/ops" and allowed["credential"] == fingerprint("s3cret")
    assert refused["event"] == "operator_request_refused" and refused["operator"] == "ops-2"
    assert "s3cret" not in repr(logs) and "nope" not in repr(logs)
