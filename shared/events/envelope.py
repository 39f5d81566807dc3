"""The one envelope every event travels in, and its encoding on the wire."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Generic, Self, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from shared.events.topics import Topic
from shared.tracing import current_trace

P = TypeVar("P", bound="EventPayload")

# ACC-1: an account ID is a positive decimal number (like a UIN), written without leading
# zeros so one account has one key (and one partition, one order) on every topic. The
# envelope also admits "" for the few payloads that may come before the account exists
# (`precedes_account`: a registration code); every other payload needs an account.
ACCOUNT_ID_PATTERN = r"^[1-9][0-9]{0,18}$"
AccountId = Annotated[str, StringConstraints(pattern=r"^(?:[1-9][0-9]{0,18})?$")]


def is_account_id(text: str) -> bool:
    """Whether the text is an account ID as the envelope and message keys carry it."""
    return re.fullmatch(ACCOUNT_ID_PATTERN, text) is not None


# Every event type, by (type, version): filled as the payload classes are defined.
REGISTRY: dict[tuple[str, int], type[EventPayload]] = {}


class EventPayload(BaseModel):
    """Base of every integration event's payload: frozen, described, versioned.

    Open by default: a consumer ignores fields it does not know, so a producer can add an
    optional field before every consumer has learnt it (contracts/README.md, "Open and
    closed contracts").

    A subclass that declares its `topic` is an event type: defining it registers it (the
    registry, the committed schemas, the AsyncAPI documents and the consumers follow), so
    adding an event type is adding one class. `secret_fields` are payload fields replaced
    by `***` in a dead-lettered copy (a one-time code must not outlive its request).
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]
    event_version: ClassVar[int] = 1
    # A snapshot is a state record (the latest value per account wins): the consumer replaces
    # its copy with it, so a field it cannot read would blank data. Snapshots are closed and
    # every field is required (nullable where empty means something); a test checks it.
    snapshot: ClassVar[bool] = False
    # Whether the event may be sent before the account exists (envelope account_id "").
    precedes_account: ClassVar[bool] = False

    topic: ClassVar[Topic]
    secret_fields: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "topic" not in cls.__dict__:
            return  # a base or a test model, not an event type on the wire
        key = (cls.event_type, cls.event_version)
        if key in REGISTRY and REGISTRY[key] is not cls:
            raise TypeError(f"{key[0]} v{key[1]} is defined twice")
        REGISTRY[key] = cls


class ClosedPayload(EventPayload):
    """A contract whose consumers refuse unknown fields: a misspelt field is an error, not
    an absent value. Only for contracts whose consumers are deployed before their producers
    (a request to the service that owns it, a snapshot read by one service), so a new
    optional field still rolls out: consumers first, then producers."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def payloads_on(topic: Topic | str) -> list[type[EventPayload]]:
    """The event types that travel on a topic, in the order they were defined."""
    return [p for p in REGISTRY.values() if p.topic == topic]


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
    account_id: AccountId = Field(
        description="Account the event is about (ACC-1, decimal digits); the message key. "
        "Empty only for a request made before the account exists (a registration code).",
        examples=["100000000001"],
    )
    correlation_id: uuid.UUID = Field(description="Id shared by everything one request caused.")
    causation_id: uuid.UUID | None = Field(
        default=None, description="event_id of the event that caused this one, if any."
    )
    payload: P = Field(description="The event's own fields.")

    @model_validator(mode="after")
    def _names_its_account(self) -> Self:
        if not self.account_id and not self.payload.precedes_account:
            raise ValueError(f"account_id: {self.type} must name an account")
        return self


class UndecodableEvent(ValueError):
    """Bytes that are not a valid event of a known type; never retried."""

    reason = "undecodable"


class InvalidEvent(UndecodableEvent):
    """An envelope of a known type and version that breaks its contract (a missing, unknown
    or malformed field, an account ID that is not one); never retried."""

    reason = "invalid"


class UnknownEventType(LookupError):
    """A well-formed event whose (type, version) has no contract here; consumers park it."""

    reason = "unknown_type"


def new_envelope(
    payload: EventPayload,
    *,
    producer: str,
    account_id: str,
    occurred_at: datetime | None = None,
    correlation_id: uuid.UUID | None = None,
    causation: Envelope[Any] | None = None,
    causation_id: uuid.UUID | None = None,
) -> Envelope[Any]:
    """Wrap a payload. `occurred_at` is the producer's clock (services pass theirs).

    Correlation and causation come, first found: from the arguments (`causation` is the event
    that caused this one), else from the current trace (shared.tracing: the HTTP request or
    the consumed event this code runs for), else a new correlation and no cause.
    """
    trace = current_trace()
    if causation is not None:
        correlation_id = correlation_id or causation.correlation_id
        causation_id = causation_id or causation.event_id
    if trace is not None:
        correlation_id = correlation_id or trace.correlation_id
        if causation_id is None and correlation_id == trace.correlation_id:
            causation_id = trace.causation_id
    model: Any = Envelope[type(payload)]  # type: ignore[misc]
    return model(  # type: ignore[no-any-return]
        event_id=uuid.uuid4(),
        type=payload.event_type,
        version=payload.event_version,
        occurred_at=occurred_at or datetime.now(UTC),
        producer=producer,
        account_id=account_id,
        correlation_id=correlation_id or uuid.uuid4(),
        causation_id=causation_id,
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
        # Where the AsyncAPI documents say the correlation id is ($message.header#/...).
        ("correlation_id", str(envelope.correlation_id).encode()),
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
            f"{'.'.join(str(p) for p in e['loc']) or 'envelope'}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False)
        )
        raise InvalidEvent(f"invalid {key[0]} v{key[1]}: {problems}") from None
