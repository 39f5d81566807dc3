"""Reading one-time codes the way a person would: from the delivery request sent to them."""

from __future__ import annotations

from shared.events import REGISTRY, NotificationRequested, Topic, decode
from shared.testing.kafka import read_all
from shared.testing.waiting import eventually


async def code_sent_to(bootstrap: str, topic_prefix: str, destination: str, purpose: str) -> str:
    """The newest code requested for destination and purpose (waits until it is published)."""

    async def newest() -> str | None:
        records = await read_all(bootstrap, f"{topic_prefix}{Topic.NOTIFIER_REQUESTS}")
        found = None
        for record in records:
            if record.value is None:
                continue
            event = decode(record.value, REGISTRY)
            payload = event.payload
            if (
                isinstance(payload, NotificationRequested)
                and payload.destination == destination
                and payload.params.get("purpose") == purpose
            ):
                if found is None or event.occurred_at >= found[0]:
                    found = (event.occurred_at, payload.params["code"])
        return found[1] if found else None

    return await eventually(newest, what=f"a {purpose} code sent to {destination}")
