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


DAY_MS = 24 * 3600 * 1000
# Broker settings of the topics that carry a destination in clear (CAN-7 erasure on the
# broker; ARCHITECTURE "Events"): a superseded or tombstoned contacts record is compacted
# away within a day, and a notification request (a code and its destination) lives a day
# (its dead letter, code scrubbed, a week). Other topics keep the broker's default retention:
# they carry ids and masked values only. A broker that neither compacts nor expires (the
# embedded one, memory only) keeps them until it stops.
TOPIC_CONFIGS: dict[Topic, dict[str, str]] = {
    Topic.IDENTITY_CONTACTS: {
        "cleanup.policy": "compact",
        "max.compaction.lag.ms": str(DAY_MS),
        "delete.retention.ms": str(DAY_MS),
    },
    Topic.NOTIFIER_REQUESTS: {"retention.ms": str(DAY_MS)},
}
# Dead letters of those two topics: a week, long enough to inspect and replay; a contacts
# record is dead-lettered as it came (destinations in clear), a request scrubbed.
DLQ_CONFIGS: dict[Topic, dict[str, str]] = {
    Topic.IDENTITY_CONTACTS: {"retention.ms": str(7 * DAY_MS)},
    Topic.NOTIFIER_REQUESTS: {"retention.ms": str(7 * DAY_MS)},
}
# Topics whose producers are not ours (EXT): we own their contracts, not their producers.
EXTERNAL_TOPICS = frozenset(
    {Topic.BILLING_EVENTS, Topic.RESOURCES_EVENTS, Topic.CAM_EVENTS, Topic.COMPLAINTS_EVENTS}
)
DLQ_SUFFIX = ".dlq"


def owner_of_topic(topic: Topic | str) -> str | None:
    """The one producer a topic's events come from (topics are named by their owner:
    `cancellation` for cancellation.events); None for notifier.requests, which every service
    may write (the notifier's TRUSTED_PRODUCERS decides)."""
    if topic == Topic.NOTIFIER_REQUESTS:
        return None
    return str(topic).split(".", 1)[0]


def topic_name(topic: Topic | str, prefix: str = "") -> str:
    """The topic's name on the broker, with the deployment's prefix."""
    return f"{prefix}{topic}"


def dlq_name(topic_on_broker: str) -> str:
    """The dead-letter topic of a topic (already prefixed)."""
    return f"{topic_on_broker}{DLQ_SUFFIX}"
