"""Integration events: the contracts between services, one payload class per event type."""

from __future__ import annotations

from shared.events.cancellation import (
    CancellationCompleted,
    CancellationRejected,
    CancellationRequested,
    CancellationWithdrawn,
)
from shared.events.envelope import (
    REGISTRY,
    AccountId,
    ClosedPayload,
    Envelope,
    EventPayload,
    InvalidEvent,
    UndecodableEvent,
    UnknownEventType,
    decode,
    encode,
    headers_of,
    is_account_id,
    new_envelope,
    payloads_on,
)
from shared.events.identity import (
    AccountContacts,
    AccountLocked,
    AccountRegistered,
    AccountStatus,
    AccountStatusChanged,
    LoginFailed,
    LoginMethodBound,
    LoginMethodKind,
    LoginMethodUnbound,
    LoginSucceeded,
    PasswordChanged,
    SecureEmailChanged,
    SecurePhoneChanged,
)
from shared.events.notifier import (
    Channel,
    NotificationFailed,
    NotificationRequested,
    NotificationSent,
)
from shared.events.topics import Topic
from shared.events.verification import RealNameChanged, RealNameStatus, RealNameSubject

# Filled by defining the payload classes (imported above): one class per event type.
ALL_PAYLOADS: tuple[type[EventPayload], ...] = tuple(REGISTRY.values())

__all__ = [
    "ALL_PAYLOADS",
    "REGISTRY",
    "AccountContacts",
    "AccountId",
    "AccountLocked",
    "AccountRegistered",
    "AccountStatus",
    "AccountStatusChanged",
    "CancellationCompleted",
    "CancellationRejected",
    "CancellationRequested",
    "CancellationWithdrawn",
    "Channel",
    "ClosedPayload",
    "Envelope",
    "EventPayload",
    "InvalidEvent",
    "LoginFailed",
    "LoginMethodBound",
    "LoginMethodKind",
    "LoginMethodUnbound",
    "LoginSucceeded",
    "NotificationFailed",
    "NotificationRequested",
    "NotificationSent",
    "PasswordChanged",
    "RealNameChanged",
    "RealNameStatus",
    "RealNameSubject",
    "SecureEmailChanged",
    "SecurePhoneChanged",
    "Topic",
    "UndecodableEvent",
    "UnknownEventType",
    "decode",
    "encode",
    "headers_of",
    "is_account_id",
    "new_envelope",
    "payloads_on",
]
