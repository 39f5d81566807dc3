"""Reading one-time codes the way a person would: from the delivery request sent to them."""

from __future__ import annotations

import uuid

from devkit.testing.kafka import read_all
from devkit.testing.waiting import eventually
from shared.events import REGISTRY, NotificationRequested, Topic, decode


async def requests_now(bootstrap: str, topic_prefix: str) -> frozenset[uuid.UUID]:
    """The ids of the notification requests on the topic now: pass them to code_sent_to as
    `besides` before asking for a code, so an older code is not taken for the new one."""
    records = await read_all(bootstrap, f"{topic_prefix}{Topic.NOTIFIER_REQUESTS}")
    return frozenset(decode(r.value, REGISTRY).event_id for r in records if r.value is not None)


async def code_sent_to(
    bootstrap: str,
    topic_prefix: str,
    destination: str,
    purpose: str,
    *,
    besides: frozenset[uuid.UUID] = frozenset(),
) -> str:
    """The newest code requested for destination and purpose, other than the requests in
    `besides` (waits until it is published)."""

    async def newest() -> str | None:
        records = await read_all(bootstrap, f"{topic_prefix}{Topic.NOTIFIER_REQUESTS}")
        events = [decode(r.value, REGISTRY) for r in records if r.value is not None]
        sent = [
            (e.occurred_at, e.payload.params["code"])
            for e in events
            if isinstance(e.payload, NotificationRequested)
            and e.payload.destination == destination
            and e.payload.params.get("purpose") == purpose
            and e.event_id not in besides
        ]
        return max(sent)[1] if sent else None

    return await eventually(newest, what=f"a {purpose} code sent to {destination}")
