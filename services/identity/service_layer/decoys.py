"""Equal work for accounts that do not exist (ASVS 5.0 6.3.8): an unauthenticated caller must
not tell a real account from an unknown one by the answer or by how long it takes, so the
branch for nobody does the same Redis and database work as the branch for somebody, and then
throws its writes away."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from shared.events import Channel
from shared.unit_of_work import UnitOfWork

# Below the account sequence's first value (100000000001), so never an account; still a
# well-formed account ID, so the decoy's events are built and checked like real ones.
NO_ACCOUNT = 1

# Where a decoy's delivery request is addressed (it is never sent: see writes_kept_unless).
DECOY_DESTINATION = {Channel.SMS: "+8613800000000", Channel.EMAIL: "nobody@example.invalid"}


def decoy_code_key(channel: Channel, login_key: str) -> str:
    """Where a decoy code for a login email lives in Redis: apart from every real destination
    (so it spends no real phone's budget) and per channel, like real codes."""
    return f"decoy:{channel.value}:{login_key}"


@asynccontextmanager
async def writes_kept_unless(uow: UnitOfWork, *, discard: bool) -> AsyncIterator[None]:
    """The block's writes in a savepoint, rolled back when `discard`: the same statements run
    and the same transaction commits (with its WAL flush) for nobody as for somebody."""
    savepoint = await uow.conn.begin_nested()
    yield
    if discard:
        await savepoint.rollback()
    else:
        await savepoint.commit()
