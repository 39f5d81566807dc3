"""Integration events: the contracts between services. Every payload model is listed here."""

from __future__ import annotations

from shared.events.cancellation import CancellationRequested
from shared.events.envelope import (
    Envelope,
    EventPayload,
    UndecodableEvent,
    UnknownEventType,
    decode,
    encode,
    headers_of,
    new_envelope,
)
from shared.events.identity import (
    AccountContacts,
    AccountRegistered,
    LoginMethodBound,
    LoginMethodKind,
    LoginMethodUnbound,
)
from shared.events.notifier import (
    Channel,
    NotificationFailed,
    NotificationRequested,
    NotificationSent,
)
from shared.events.topics import Topic
from shared.events.verification import RealNameChanged, RealNameStatus, RealNameSubject

ALL_PAYLOADS: tuple[type[EventPayload], ...] = (
    AccountRegistered,
    AccountContacts,
    LoginMethodBound,
    LoginMethodUnbound,
    RealNameChanged,
    CancellationRequested,
    NotificationRequested,
    NotificationSent,
    NotificationFailed,
)

REGISTRY: dict[tuple[str, int], type[EventPayload]] = {
    (p.event_type, p.event_version): p for p in ALL_PAYLOADS
}

__all__ = [
    "ALL_PAYLOADS",
    "REGISTRY",
    "AccountContacts",
    "AccountRegistered",
    "CancellationRequested",
    "Channel",
    "Envelope",
    "EventPayload",
    "LoginMethodBound",
    "LoginMethodKind",
    "LoginMethodUnbound",
    "NotificationFailed",
    "NotificationRequested",
    "NotificationSent",
    "RealNameChanged",
    "RealNameStatus",
    "RealNameSubject",
    "Topic",
    "UndecodableEvent",
    "UnknownEventType",
    "decode",
    "encode",
    "headers_of",
    "new_envelope",
]
