"""Notification requests and the notifier's outcome events."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from shared.events.envelope import ClosedPayload, EventPayload
from shared.events.topics import Topic


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"


class NotificationRequested(ClosedPayload):
    """Ask the notifier to deliver one message (one-time codes).

    The single event where a destination travels in clear next to a code (CODE-3). Closed:
    the notifier owns this request and learns a new field before any producer sends it, so
    a field it does not know is a mistake and the request is dead-lettered.
    """

    event_type = "NotificationRequested"
    precedes_account = True  # a registration code goes out before the account exists
    topic = Topic.NOTIFIER_REQUESTS
    secret_fields = frozenset({"destination", "params"})

    message_type: str = Field(description="Template to use.", examples=["verification_code"])
    channel: Channel = Field(description="Delivery channel.", examples=["sms"])
    destination: str = Field(description="Phone (E.164) or email, in clear.")
    language: str = Field(default="zh-CN", description="Template language.", examples=["en"])
    params: dict[str, str] = Field(
        default_factory=dict,
        description="Template parameters.",
        examples=[{"code": "123456", "minutes": "5"}],
    )


class NotificationSent(EventPayload):
    """A message was accepted by the SMTP server or SMS provider."""

    event_type = "NotificationSent"
    topic = Topic.NOTIFIER_EVENTS
    precedes_account = True  # the outcome of a code sent before the account exists

    source_event_id: str = Field(description="event_id of the event the message is for.")
    message_type: str = Field(description="Template used.", examples=["welcome"])
    channel: Channel = Field(description="Delivery channel.")
    destination_masked: str = Field(description="Destination, masked.")
    attempts: int = Field(description="Tries it took.", examples=[1])
    sent_at: datetime = Field(description="When, UTC.")


class NotificationFailed(EventPayload):
    """A message could not be delivered: permanently refused, or retries ran out (NOT-3)."""

    event_type = "NotificationFailed"
    topic = Topic.NOTIFIER_EVENTS
    precedes_account = True  # the outcome of a code sent before the account exists

    source_event_id: str = Field(description="event_id of the event the message is for.")
    message_type: str = Field(description="Template used.", examples=["welcome"])
    channel: Channel = Field(description="Delivery channel.")
    destination_masked: str | None = Field(default=None, description="Destination, masked.")
    attempts: int = Field(description="Tries made.", examples=[5])
    reason: str = Field(description="Why it failed.", examples=["no_destination"])
    failed_at: datetime = Field(description="When, UTC.")
