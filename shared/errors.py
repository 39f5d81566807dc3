"""The one error shape of every HTTP API: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from shared.logging import get_logger
from shared.redaction import describe_error, where

log = get_logger(__name__)


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


def install_error_handlers(app: FastAPI) -> None:
    """Map domain errors and request validation to the shared error shape."""

    async def on_app_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AppError)
        return JSONResponse(
            error_body(exc.code, exc.message, exc.details), status_code=exc.status_code
        )

    async def on_validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        fields = [
            {"field": ".".join(str(p) for p in err["loc"][1:]), "problem": err["msg"]}
            for err in exc.errors()
        ]
        return JSONResponse(
            error_body("INVALID_REQUEST", "The request is not valid.", {"fields": fields}),
            status_code=422,
        )

    app.add_exception_handler(AppError, on_app_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)

    @app.middleware("http")
    async def unexpected_errors(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """A bug or an outage is a 500 in the shared shape, logged by type and frames only:
        its text may quote the values involved (a code, a destination). Caught here, not by
        Starlette's outermost handler, which would hand the traceback to the server's log."""
        try:
            return await call_next(request)
        except Exception as exc:
            log.error(
                "http_unhandled_error",
                method=request.method,
                path=request.url.path,
                error=describe_error(exc),
                where=where(exc)[-6:],
            )
            return JSONResponse(
                error_body("INTERNAL_ERROR", "Something went wrong on our side; try again later."),
                status_code=500,
            )
