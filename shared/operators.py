"""Operator endpoints: a bearer credential, checked in constant time, and an audit line per call.

A service that has operator endpoints gives its settings an `operator_token` (a SecretStr,
no default: unset, the endpoints answer 503) and puts `Depends(require_operator)` on them.
The caller sends `Authorization: Bearer <token>` and names themself in `X-Operator-Id`
(an employee id, set by the operators' SSO gateway in production). Every request, allowed
or refused, is logged with who, what and from where, never with the token.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from fastapi import Depends, Header, Request
from pydantic import SecretStr

from shared.errors import AppError
from shared.logging import get_logger
from shared.runtime import Runtime, get_runtime

audit_log = get_logger("audit.operator")


class OperatorUnauthenticated(AppError):
    status_code = 401
    code = "OPERATOR_UNAUTHENTICATED"


class OperatorAccessNotConfigured(AppError):
    status_code = 503
    code = "OPERATOR_ACCESS_NOT_CONFIGURED"


@dataclass(frozen=True)
class Operator:
    """Who called an operator endpoint."""

    operator_id: str
    token_fingerprint: str


def fingerprint(token: str) -> str:
    """A short, one-way tag of a credential, to tell in logs which one was used."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


def token_matches(presented: str, expected: str) -> bool:
    return hmac.compare_digest(presented.encode(), expected.encode())


async def require_operator(
    request: Request,
    runtime: Runtime = Depends(get_runtime),
    authorization: str | None = Header(default=None),
    x_operator_id: str | None = Header(default=None),
) -> Operator:
    """FastAPI dependency: the operator making the request, or 401/503."""
    what = {
        "method": request.method,
        "path": request.url.path,
        "query": str(request.url.query),
        "client": request.client.host if request.client else None,
    }
    expected: SecretStr | None = getattr(runtime.settings, "operator_token", None)
    if expected is None or not expected.get_secret_value():
        audit_log.warning("operator_request_refused", reason="not_configured", **what)
        raise OperatorAccessNotConfigured(
            "Operator access is not configured on this service (OPERATOR_TOKEN)."
        )
    scheme, _, presented = (authorization or "").partition(" ")
    operator_id = (x_operator_id or "").strip()
    if scheme.lower() != "bearer" or not presented:
        audit_log.warning("operator_request_refused", reason="no_credential", **what)
        raise OperatorUnauthenticated("An operator bearer token is required.")
    if not token_matches(presented.strip(), expected.get_secret_value()):
        audit_log.warning(
            "operator_request_refused", reason="bad_credential", operator=operator_id, **what
        )
        raise OperatorUnauthenticated("The operator credential is not valid.")
    if not operator_id:
        audit_log.warning("operator_request_refused", reason="no_operator_id", **what)
        raise OperatorUnauthenticated("Name the operator in the X-Operator-Id header.")
    operator = Operator(operator_id=operator_id[:100], token_fingerprint=fingerprint(presented))
    audit_log.info(
        "operator_request",
        operator=operator.operator_id,
        credential=operator.token_fingerprint,
        **what,
    )
    return operator
