"""Facts of the external producers in tests (EXT): what billing, resources, CAM and
complaints would publish, by the real command or by a plain producer."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from devkit.testing.infra import Scope
from devkit.testing.kafka import publish
from shared.events import (
    BillingStanding,
    CamStanding,
    ComplaintsStanding,
    Envelope,
    EventPayload,
    ResourcesStanding,
    Standing,
    new_envelope,
    owner_of,
)

PRODUCE = Path(sys.executable).parent / "account-center-produce"


@dataclass
class Produced:
    """What `account-center-produce` answered: exit code, stdout (the event id), stderr."""

    code: int
    out: str
    err: str

    @property
    def event_id(self) -> str:
        assert self.code == 0, self.err
        return self.out.strip()


async def produce(scope: Scope, *args: str, timeout_s: float = 60.0) -> Produced:
    """Run the installed `account-center-produce` against the run's broker, in the test's
    topic namespace (KAFKA_TOPIC_PREFIX), as a producing team would run it."""
    process = await asyncio.create_subprocess_exec(
        str(PRODUCE),
        *args,
        env=scope.env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=timeout_s)
    assert process.returncode is not None
    return Produced(process.returncode, out.decode(), err.decode())


async def publish_fact(
    scope: Scope,
    payload: EventPayload,
    account_id: str,
    *,
    producer: str | None = None,
    occurred_at: datetime | None = None,
) -> Envelope[Any]:
    """Publish one fact with a plain producer (faster than the command), keyed by account;
    the producer is the topic's owner unless told."""
    envelope = new_envelope(
        payload,
        producer=producer or owner_of(payload.topic),
        account_id=account_id,
        occurred_at=occurred_at,
    )
    await publish(scope.infra.kafka, scope.topic(payload.topic), envelope)
    return envelope


def billing(as_of: datetime, **owed: int) -> BillingStanding:
    """A billing standing with nothing owed or held, but for the amounts given."""
    values: dict[str, int] = {
        "overdue_fen": 0,
        "advance_payment_fen": 0,
        "balance_fen": 0,
        "vouchers": 0,
        "pending_orders": 0,
        **owed,
    }
    return BillingStanding(as_of=as_of, **values)


def clear_standings(as_of: datetime) -> list[Standing]:
    """The four standings of an account that meets every CAN-2 precondition."""
    return [
        billing(as_of),
        ResourcesStanding(as_of=as_of, resources_in_use=0, products=[]),
        CamStanding(as_of=as_of, collaborators=0, sub_users=0, message_recipients=0),
        ComplaintsStanding(as_of=as_of, open_cases=[]),
    ]
