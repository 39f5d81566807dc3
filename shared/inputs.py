"""Bounded, clean request input, the same in every service (ASVS 5.1.4, 13.1.x).

Every request body model subclasses `RequestModel`: each string in it, at any depth, is
refused with TEXT_INVALID (422) when it holds a NUL or an unpaired UTF-16 surrogate, neither
of which PostgreSQL, Redis or argon2 can take (before, they surfaced as 500s). Query
parameters use `CleanText`. Every string field still names its own `max_length`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, field_validator
from pydantic_core import PydanticCustomError

from shared.errors import TEXT_INVALID_TYPE as TEXT_INVALID

_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")

# Account ids are decimal, from a PostgreSQL bigint sequence (ACC-1).
ACCOUNT_ID_PATTERN = r"^[1-9][0-9]{0,17}$"


def check_text(value: str) -> str:
    """The value, or a TEXT_INVALID validation error for NUL or an unpaired surrogate."""
    if _BAD_TEXT.search(value):
        raise PydanticCustomError(
            TEXT_INVALID, "Text must not contain NUL characters or unpaired surrogates."
        )
    return value


def _check_all(value: Any) -> None:
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_all(key)
            _check_all(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_all(item)


CleanText = Annotated[str, AfterValidator(check_text)]

_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _iso_only(value: Any) -> Any:
    """Pydantic would read "0.5" as a Unix time; the API documents ISO 8601 only."""
    if isinstance(value, str) and not _ISO_DATETIME.match(value):
        raise PydanticCustomError("datetime_format", "Give an ISO 8601 date-time.")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_only)]


class RequestModel(BaseModel):
    """Base of every request body: strings at any depth are clean text."""

    @field_validator("*", mode="before")
    @classmethod
    def _clean_text(cls, value: Any) -> Any:
        _check_all(value)
        return value
