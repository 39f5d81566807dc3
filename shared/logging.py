"""Structured logging, the same in every service: structlog over the standard library."""

from __future__ import annotations

import logging
import sys

import structlog

from shared.redaction import describe_error, where


def describe_exc_info(
    logger: object, method: str, event: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """Render `exc_info` as the error's description and frames, not its text: a database
    error's text quotes the row it refused (shared.redaction)."""
    exc_info = event.pop("exc_info", None)
    if exc_info is True:
        exc_info = sys.exc_info()
    exc = exc_info[1] if isinstance(exc_info, tuple) else exc_info
    if isinstance(exc, BaseException):
        event["exception"] = describe_error(exc)
        event["where"] = where(exc)[-6:]
    return event


def configure_logging(service: str, level: str = "INFO", json: bool = False) -> None:
    """Log lines carry the service name; JSON in production, readable lines in dev."""
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared_processors: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        describe_exc_info,
    ]
    structlog.configure(
        processors=[*shared_processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stderr,
        format=f"{service} %(levelname)s %(name)s %(message)s",
    )
    # aiokafka logs every rebalance at INFO; keep it to warnings.
    logging.getLogger("aiokafka").setLevel(logging.WARNING)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)  # type: ignore[no-any-return]
