"""The one envelope every event travels in, and its encoding on the wire."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

P = TypeVar("P", bound="EventPayload")


class EventPayload(BaseModel):
    """Base of every integration event's payload: frozen, described, versioned."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]
    event_version: ClassVar[int] = 1


class Envelope(BaseModel, Generic[P]):
    """Metadata every event carries around its payload."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: uuid.UUID = Field(description="Unique id; consumers deduplicate by it.")
    type: str = Field(
        description="Event type, e.g. AccountRegistered.", examples=["AccountRegistered"]
    )
    version: int = Field(description="Version of the payload schema.", examples=[1])
    occurred_at: datetime = Field(description="When it happened, UTC.")
    producer: str = Field(description="Service that produced it.", examples=["identity"])
    account_id: str = Field(description="Account the event is about; the message key.")
    correlation_id: uuid.UUID = Field(description="Id shared by everything one request caused.")
    causation_id: uuid.UUID | None = Field(
        default=None, description="event_id of the event that caused this one, if any."
    )
    payload: P = Field(description="The event's own fields.")


class UndecodableEvent(ValueError):
    """Bytes that are not a valid event of a known type; never retried."""


class UnknownEventType(LookupError):
    """A well-formed event whose type this consumer does not know; skipped, not an error."""


def new_envelope(
    payload: EventPayload,
    *,
    producer: str,
    account_id: str,
    correlation_id: uuid.UUID | None = None,
    causation: Envelope[Any] | None = None,
    occurred_at: datetime | None = None,
) -> Envelope[Any]:
    """Wrap a payload; causation links this event to the event that caused it."""
    model: Any = Envelope[type(payload)]  # type: ignore[misc]
    return model(  # type: ignore[no-any-return]
        event_id=uuid.uuid4(),
        type=payload.event_type,
        version=payload.event_version,
        occurred_at=occurred_at or datetime.now(UTC),
        producer=producer,
        account_id=account_id,
        correlation_id=correlation_id or (causation.correlation_id if causation else uuid.uuid4()),
        causation_id=causation.event_id if causation else None,
        payload=payload,
    )


def encode(envelope: Envelope[Any]) -> bytes:
    return envelope.model_dump_json().encode()


def headers_of(envelope: Envelope[Any]) -> list[tuple[str, bytes]]:
    """Kafka headers that let tools route without parsing the body."""
    return [
        ("content-type", b"application/json"),
        ("event_type", envelope.type.encode()),
        ("event_version", str(envelope.version).encode()),
        ("event_id", str(envelope.event_id).encode()),
    ]


def decode(raw: bytes, registry: dict[tuple[str, int], type[EventPayload]]) -> Envelope[Any]:
    """Bytes to a typed envelope. Raises UndecodableEvent or UnknownEventType."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UndecodableEvent(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise UndecodableEvent("not a JSON object")
    key = (data.get("type"), data.get("version"))
    if not isinstance(key[0], str) or not isinstance(key[1], int):
        raise UndecodableEvent("missing or invalid 'type' or 'version'")
    model = registry.get((key[0], key[1]))
    if model is None:
        raise UnknownEventType(f"{key[0]} v{key[1]}")
    try:
        return Envelope[model].model_validate(data)  # type: ignore[valid-type]
    except ValidationError as exc:
        # Name the fields and the problems, never the values: they may be codes or PII.
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False)
        )
        raise UndecodableEvent(f"invalid {key[0]} v{key[1]}: {problems}") from None
