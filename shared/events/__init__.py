"""Integration events: the contracts between services. Every payload model is listed here."""

from __future__ import annotations

from shared.events.cancellation import (
    CancellationCompleted,
    CancellationRejected,
    CancellationRequested,
    CancellationWithdrawn,
)
from shared.events.envelope import (
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

ALL_PAYLOADS: tuple[type[EventPayload], ...] = (
    AccountRegistered,
    AccountContacts,
    LoginMethodBound,
    LoginMethodUnbound,
    AccountStatusChanged,
    LoginSucceeded,
    LoginFailed,
    AccountLocked,
    PasswordChanged,
    SecurePhoneChanged,
    SecureEmailChanged,
    RealNameChanged,
    CancellationRequested,
    CancellationWithdrawn,
    CancellationRejected,
    CancellationCompleted,
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
]
