"""The notifier's timers table under the shared repository (shared/timers/repository.py:
schedule, bring forward, claim FOR UPDATE SKIP LOCKED with a lease and a claim token, finish,
postpone)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from services.notifier.adapters.tables import timers
from shared.timers import TimerRepository


class Timers(TimerRepository):
    def __init__(self, conn: AsyncConnection) -> None:
        super().__init__(conn, timers)
