"""The one error shape of every HTTP API: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.logging import get_logger
from shared.redaction import describe_error, where

log = get_logger(__name__)

# Validation error type of shared.inputs.check_text (kept here to avoid an import cycle).
TEXT_INVALID_TYPE = "text_invalid"
HTTP_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "REQUEST_TOO_LARGE"}


class AppError(Exception):
    """A refusal with a stable code; services subclass it per domain error."""

    status_code = 400
    code = "BAD_REQUEST"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(AppError):
    status_code = 404
    code = "NOT_FOUND"


class Conflict(AppError):
    status_code = 409
    code = "CONFLICT"


class ServiceUnavailable(AppError):
    status_code = 503
    code = "SERVICE_UNAVAILABLE"


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable error code (the service README lists them).")
    message: str = Field(description="What went wrong and what to do, for people.")
    details: dict[str, Any] = Field(description="Machine-readable particulars of the code.")


class ErrorBody(BaseModel):
    """The one error shape of every HTTP API."""

    error: ErrorDetail


ERROR_WHEN = {
    400: "Refused by a rule (the code says which).",
    401: "Not authenticated, or the credentials are wrong.",
    403: "Not allowed.",
    404: "Not found.",
    409: "Conflicts with the current state.",
    413: "REQUEST_TOO_LARGE: the body is over the size cap.",
    422: "INVALID_REQUEST (details.fields) or TEXT_INVALID (NUL or unpaired surrogate).",
    423: "Locked.",
    429: "Rate limited; details say when to retry.",
    503: "A dependency is down; try again shortly.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` documenting the error shape for these statuses."""
    return {
        status: {"model": ErrorBody, "description": ERROR_WHEN.get(status, "Refused.")}
        for status in statuses
    }


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette's 405 names only the first
    route's, wrong when one path has a route per method)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, BaseRoute) and route.matches(request.scope)[0] is not Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    """Map domain errors and request validation to the shared error shape."""

    async def on_app_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AppError)
        return JSONResponse(
            error_body(exc.code, exc.message, exc.details), status_code=exc.status_code
        )

    async def on_validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = exc.errors()
        fields = [
            {"field": ".".join(str(p) for p in err["loc"][1:]), "problem": err["msg"]}
            for err in errors
        ]
        if any(err["type"] == TEXT_INVALID_TYPE for err in errors):
            code, message = "TEXT_INVALID", "Text must not contain NUL or unpaired surrogates."
        else:
            code, message = "INVALID_REQUEST", "The request is not valid."
        return JSONResponse(error_body(code, message, {"fields": fields}), status_code=422)

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        code = HTTP_CODES.get(exc.status_code, "BAD_REQUEST")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=headers
        )

    app.add_exception_handler(AppError, on_app_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)

    app.add_middleware(UnexpectedErrors)


class UnexpectedErrors:
    """A bug or an outage is a 500 in the shared shape, logged by type and frames only: its
    text may quote the values involved (a code, a destination). Caught here, not by
    Starlette's outermost handler, which would hand the traceback to the server's log.

    A plain ASGI middleware, not `@app.middleware("http")`: Starlette's BaseHTTPMiddleware
    runs every request through an extra task group and memory streams, which cost about a
    tenth of identity's CPU per login (bench/identity_login.py --profile)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            log.error(
                "http_unhandled_error",
                method=scope.get("method"),
                path=scope.get("path"),
                error=describe_error(exc),
                where=where(exc)[-6:],
            )
            if started:  # too late for a 500: the client sees the connection end
                raise
            response = JSONResponse(
                error_body("INTERNAL_ERROR", "Something went wrong on our side; try again later."),
                status_code=500,
            )
            await response(scope, receive, send)
