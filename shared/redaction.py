"""Errors described without the values involved: what a log line, an HTTP 500 or a `dlq.error`
header may say about a failure.

A database error's text carries the statement's values twice over: SQLAlchemy appends the
bound parameters (engines hide them: `hide_parameters=True`) and PostgreSQL's DETAIL quotes
the row or key ("Failing row contains (...)", "Key (phone)=(+86...)"), and asyncpg names a
refused argument by its value. A one-time code or a destination must reach none of them, so
errors are described by type, SQLSTATE, table and constraint only; validation errors by
field and problem.
"""

from __future__ import annotations

import traceback

import sqlalchemy.exc
from pydantic import ValidationError


def describe_error(exc: BaseException) -> str:
    """`Type: what went wrong`, without any value the failing operation carried."""
    name = type(exc).__name__
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        return f"{name}: {_database_error(exc)}"
    if isinstance(exc, sqlalchemy.exc.StatementError):
        return f"{name}: the statement could not be built"
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False)
        )
        return f"{name}: {problems}"
    return f"{name}: {exc}"


def _database_error(exc: sqlalchemy.exc.DBAPIError) -> str:
    # SQLAlchemy's asyncpg adapter wraps the driver's error: the driver's has the fields.
    driver = exc.orig.__cause__ if exc.orig is not None and exc.orig.__cause__ else exc.orig
    parts = [type(driver).__name__]
    for label, attribute in (
        ("sqlstate", "sqlstate"),
        ("table", "table_name"),
        ("constraint", "constraint_name"),
    ):
        value = getattr(driver, attribute, None)
        if isinstance(value, str) and value:
            parts.append(f"{label}={value}")
    return " ".join(parts)


def where(exc: BaseException) -> list[str]:
    """The frames an error passed through (file:line function), without its message."""
    return [
        f"{frame.filename}:{frame.lineno} {frame.name}"
        for frame in traceback.extract_tb(exc.__traceback__)
    ]
