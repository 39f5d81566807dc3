"""Topic names. Topics are named by their owner; every message is keyed by account_id."""

from __future__ import annotations

from enum import StrEnum


class Topic(StrEnum):
    """Every topic of the account center and the external systems it listens to."""

    IDENTITY_EVENTS = "identity.events"
    IDENTITY_CONTACTS = "identity.contacts"
    VERIFICATION_EVENTS = "verification.events"
    CANCELLATION_EVENTS = "cancellation.events"
    NOTIFIER_EVENTS = "notifier.events"
    NOTIFIER_REQUESTS = "notifier.requests"
    BILLING_EVENTS = "billing.events"
    RESOURCES_EVENTS = "resources.events"
    CAM_EVENTS = "cam.events"
    COMPLAINTS_EVENTS = "complaints.events"


COMPACTED_TOPICS = frozenset({Topic.IDENTITY_CONTACTS})
# Topics whose producers are not ours (EXT): we own their contracts, not their producers.
EXTERNAL_TOPICS = frozenset(
    {Topic.BILLING_EVENTS, Topic.RESOURCES_EVENTS, Topic.CAM_EVENTS, Topic.COMPLAINTS_EVENTS}
)
DLQ_SUFFIX = ".dlq"


def topic_name(topic: Topic | str, prefix: str = "") -> str:
    """The topic's name on the broker, with the deployment's prefix."""
    return f"{prefix}{topic}"


def dlq_name(topic_on_broker: str) -> str:
    """The dead-letter topic of a topic (already prefixed)."""
    return f"{topic_on_broker}{DLQ_SUFFIX}"
