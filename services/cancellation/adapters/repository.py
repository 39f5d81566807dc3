"""Cancellation's projections (accounts, standings, sub-accounts) and its applications."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.cancellation.adapters.tables import (
    accounts,
    applications,
    standings,
    sub_accounts,
)
from services.cancellation.adapters.timers import Timers
from services.cancellation.domain.applications import Account, Application, State, TimerKind
from services.cancellation.domain.preconditions import Facts
from shared.events import (
    AccountStatus,
    BillingStanding,
    CamStanding,
    ComplaintsStanding,
    ResourcesStanding,
    Standing,
    owner_of,
)
from shared.logging import get_logger

log = get_logger(__name__)

STANDINGS: dict[str, type[Standing]] = {
    owner_of(kind.topic): kind
    for kind in (BillingStanding, ResourcesStanding, CamStanding, ComplaintsStanding)
}


@dataclass(frozen=True)
class Registration:
    account_id: str
    registered_at: datetime
    method: str


class Accounts:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add(self, registrations: Sequence[Registration]) -> None:
        """A plain insert: the inbox, not the statement, makes redelivery harmless."""
        await self.conn.execute(
            accounts.insert(),
            [
                {
                    "account_id": r.account_id,
                    "registered_at": r.registered_at,
                    "registration_method": r.method,
                }
                for r in registrations
            ],
        )

    async def get(self, account_id: str) -> Account | None:
        row = (
            await self.conn.execute(sa.select(accounts).where(accounts.c.account_id == account_id))
        ).one_or_none()
        if row is None:
            return None
        return Account(
            row.account_id, row.registered_at, AccountStatus(row.status), tuple(row.frozen_reasons)
        )

    async def set_status(
        self, account_id: str, status: AccountStatus, reasons: Sequence[str], at: datetime
    ) -> bool:
        """Project a status unless a newer one is there, never out of `cancelled` (ACC-3)."""
        result = await self.conn.execute(
            accounts.update()
            .where(
                accounts.c.account_id == account_id,
                accounts.c.status != AccountStatus.CANCELLED.value,
                sa.or_(accounts.c.status_changed_at.is_(None), accounts.c.status_changed_at <= at),
            )
            .values(status=status.value, frozen_reasons=list(reasons), status_changed_at=at)
        )
        return bool(result.rowcount)

    async def cancel_and_erase(self, account_id: str, at: datetime) -> None:
        """CAN-7: the account is cancelled; of it only the id, the status and the dates stay
        (the registration method and the freeze reasons go)."""
        await self.conn.execute(
            accounts.update()
            .where(accounts.c.account_id == account_id)
            .values(
                status=AccountStatus.CANCELLED.value,
                frozen_reasons=[],
                registration_method=None,
                status_changed_at=sa.func.greatest(accounts.c.status_changed_at, at),
            )
        )


class Standings:
    """EXT: the newest standing per account and producer."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def report(self, account_id: str, standing: Standing, event_id: str) -> bool:
        """Keep the standing if newer than the one kept; False for a late or replayed one."""
        values = {
            "as_of": standing.as_of,
            "payload": standing.model_dump(mode="json"),
            "event_id": event_id,
        }
        statement = (
            insert(standings)
            .values(account_id=account_id, producer=owner_of(standing.topic), **values)
            .on_conflict_do_update(
                index_elements=["account_id", "producer"],
                set_=values,
                where=standings.c.as_of < standing.as_of,
            )
        )
        return bool((await self.conn.execute(statement)).rowcount)

    async def of(self, account_id: str) -> dict[str, Standing]:
        rows = await self.conn.execute(
            sa.select(standings.c.producer, standings.c.payload).where(
                standings.c.account_id == account_id
            )
        )
        found: dict[str, Standing] = {}
        for row in rows:
            kind = STANDINGS.get(row.producer)
            try:
                if kind is not None:
                    found[row.producer] = kind.model_validate(row.payload)
            except ValidationError as exc:
                # Kept under an older contract this one no longer reads: unknown (EXT),
                # which refuses, until the producer reports again; never a 500.
                log.warning(
                    "standing_unreadable",
                    account_id=account_id,
                    producer=row.producer,
                    errors=exc.error_count(),
                )
        return found

    async def erase(self, account_id: str) -> int:
        """CAN-7: forget every standing reported of the account."""
        result = await self.conn.execute(
            standings.delete().where(standings.c.account_id == account_id)
        )
        return int(result.rowcount)


class SubAccounts:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def link(self, account_id: str, root_id: str, link: str, at: datetime) -> None:
        await self.conn.execute(
            insert(sub_accounts)
            .values(account_id=account_id, root_account_id=root_id, link=link, linked_at=at)
            .on_conflict_do_nothing()
        )

    async def root_of(self, account_id: str) -> str | None:
        found: str | None = (
            await self.conn.execute(
                sa.select(sub_accounts.c.root_account_id).where(
                    sub_accounts.c.account_id == account_id
                )
            )
        ).scalar_one_or_none()
        return found

    async def erase(self, account_id: str) -> int:
        """CAN-7: forget the account's own link to a root (links of its sub-accounts are
        theirs and stay)."""
        result = await self.conn.execute(
            sub_accounts.delete().where(sub_accounts.c.account_id == account_id)
        )
        return int(result.rowcount)


async def facts_of(conn: AsyncConnection, account_id: str) -> Facts:
    """What the other systems reported of the account (CAN-1, CAN-2)."""
    found: dict[str, Any] = await Standings(conn).of(account_id)
    return Facts(
        billing=found.get("billing"),
        resources=found.get("resources"),
        cam=found.get("cam"),
        complaints=found.get("complaints"),
        root_account_id=await SubAccounts(conn).root_of(account_id),
    )


def _application(row: Any) -> Application:
    return Application(
        application_id=row.application_id,
        account_id=row.account_id,
        state=State(row.state),
        requested_at=row.requested_at,
        cooling_off_ends_at=row.cooling_off_ends_at,
        ended_at=row.ended_at,
        reasons=tuple(row.reasons),
        operator_reason=row.operator_reason,
    )


class Applications:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def open(self, account_id: str, *, at: datetime, ends_at: datetime) -> Application | None:
        """A new open application, with its cooling-off timer; None when the account already
        has one (the partial unique index decides, so concurrent applications make one)."""
        application_id = str(uuid.uuid4())
        row = (
            await self.conn.execute(
                insert(applications)
                .values(
                    application_id=application_id,
                    account_id=account_id,
                    state=State.COOLING_OFF.value,
                    requested_at=at,
                    cooling_off_ends_at=ends_at,
                )
                .on_conflict_do_nothing(
                    index_elements=["account_id"],
                    index_where=sa.text("state = 'cooling_off'"),
                )
                .returning(applications)
            )
        ).one_or_none()
        if row is None:
            return None
        await Timers(self.conn).schedule(
            TimerKind.COOLING_OFF_END, account_id, application_id, due_at=ends_at, now=at
        )
        return _application(row)

    async def get(self, application_id: str, *, for_update: bool = False) -> Application | None:
        statement = sa.select(applications).where(applications.c.application_id == application_id)
        if for_update:
            statement = statement.with_for_update()
        row = (await self.conn.execute(statement)).one_or_none()
        return None if row is None else _application(row)

    async def page(
        self, state: State | None, *, limit: int, after: str | None
    ) -> list[Application]:
        """Newest first (requested_at, then id); `after` is the last id of the previous page
        (an unknown one starts nowhere: an empty page)."""
        a = applications.c
        statement = sa.select(applications)
        if state is not None:
            statement = statement.where(a.state == state.value)
        if after is not None:
            cursor_at = sa.select(a.requested_at).where(a.application_id == after).scalar_subquery()
            statement = statement.where(
                sa.or_(
                    a.requested_at < cursor_at,
                    sa.and_(a.requested_at == cursor_at, a.application_id < after),
                )
            )
        rows = await self.conn.execute(
            statement.order_by(a.requested_at.desc(), a.application_id.desc()).limit(limit)
        )
        return [_application(row) for row in rows]

    async def latest(self, account_id: str) -> Application | None:
        row = (
            await self.conn.execute(
                sa.select(applications)
                .where(applications.c.account_id == account_id)
                .order_by(applications.c.requested_at.desc())
                .limit(1)
            )
        ).one_or_none()
        return None if row is None else _application(row)

    async def open_of(self, account_id: str, *, for_update: bool = False) -> Application | None:
        statement = sa.select(applications).where(
            applications.c.account_id == account_id,
            applications.c.state == State.COOLING_OFF.value,
        )
        if for_update:
            statement = statement.with_for_update()
        row = (await self.conn.execute(statement)).one_or_none()
        return None if row is None else _application(row)

    async def end(
        self,
        application_id: str,
        state: State,
        at: datetime,
        *,
        reasons: Sequence[str] = (),
        operator_reason: str | None = None,
    ) -> Application:
        """End an open application (the caller holds its lock) and cancel its live timers."""
        row = (
            await self.conn.execute(
                applications.update()
                .where(applications.c.application_id == application_id)
                .values(
                    state=state.value,
                    ended_at=at,
                    reasons=list(reasons),
                    operator_reason=operator_reason,
                )
                .returning(applications)
            )
        ).one()
        timers = Timers(self.conn)
        for kind in TimerKind:
            # A timer firing now (the one ending it, or another kind racing) is left to its
            # effect, which finds the application ended: no lock-order deadlock.
            await timers.cancel(kind, application_id, now=at, skip_firing=True)
        return _application(row)
