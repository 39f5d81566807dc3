"""Erasing a cancelled account's real-name data from verification's tables (CAN-7).

Bound to the unit of work's connection: the erasure, the released quota places and the
confirming event commit together, in the inbox transaction of CancellationCompleted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from services.verification.adapters.sensitive import Purpose
from services.verification.adapters.tables import (
    accounts,
    billing_standings,
    change_requests,
    enterprise_attempts,
    enterprise_identities,
    enterprise_rechecks,
    operator_actions,
    personal_identities,
    quota_claims,
    real_name_history,
    timers,
)
from services.verification.domain.change_requests import ChangeState
from services.verification.domain.enterprise import AttemptState
from services.verification.domain.timers import TimerState
from shared.events import AccountStatus
from shared.operator_audit import redact_operator_notes
from shared.outbox import outbox_table
from shared.secret_box import Sealed

# RN-16: the history keys that name the person or the enterprise; the migration 0009 trigger
# allows exactly their removal from a row's details and nothing else.
PERSONAL_DETAILS = ("name", "uscc", "legal_person", "document")
# What an erased NOT NULL text column holds.
ERASED = ""
REDACTED = "[erased]"


class Known(StrEnum):
    """What verification holds of an account when its erasure begins."""

    UNKNOWN = "unknown"  # never registered here: nothing to erase
    KEPT = "kept"
    ERASED = "erased"  # an earlier erasure ran


@dataclass(frozen=True)
class SealedValue:
    """A ciphertext the account holds, with what it was sealed for (to open it)."""

    purpose: Purpose
    sealed: Sealed


@dataclass(frozen=True)
class Erased:
    """How many rows each table lost or had scrubbed (logged; never a value)."""

    personal_identities: int
    enterprise_identities: int
    enterprise_attempts: int
    change_requests: int
    quota_claims: int
    history: int
    timers: int
    operator_actions: int
    outbox: int


class Erasure:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def lock(self, account_id: str) -> Known:
        """Lock the account's projection row: whether verification knows the account, and
        whether it was erased already."""
        row = (
            await self.conn.execute(
                sa.select(accounts.c.erased_at)
                .where(accounts.c.account_id == account_id)
                .with_for_update()
            )
        ).one_or_none()
        if row is None:
            return Known.UNKNOWN
        return Known.KEPT if row.erased_at is None else Known.ERASED

    async def sealed_values(self, account_id: str) -> list[SealedValue]:
        """Every ciphertext of the account: the person, legal persons, bank accounts."""
        found: list[SealedValue] = []
        sources = (
            (personal_identities, personal_identities.c.sealed, "key_id", Purpose.PERSON),
            (enterprise_identities, enterprise_identities.c.sealed, "key_id", Purpose.LEGAL_PERSON),
            (change_requests, change_requests.c.sealed, "key_id", Purpose.LEGAL_PERSON),
            (
                enterprise_attempts,
                enterprise_attempts.c.bank_sealed,
                "bank_key_id",
                Purpose.BANK_ACCOUNT,
            ),
        )
        for table, column, key_column, purpose in sources:
            rows = await self.conn.execute(
                sa.select(column, table.c[key_column]).where(
                    table.c.account_id == account_id, column.is_not(None)
                )
            )
            found.extend(SealedValue(purpose, Sealed(row[1], row[0])) for row in rows)
        return found

    async def enterprise_names(self, account_id: str) -> set[str]:
        """The enterprise names and codes in clear the account verified or submitted."""
        values: set[str] = set()
        for table in (enterprise_identities, enterprise_attempts, change_requests):
            rows = await self.conn.execute(
                sa.select(table.c.name, table.c.uscc).where(table.c.account_id == account_id)
            )
            for row in rows:
                values.update(v for v in row if v)
        return values

    async def erase(self, account_id: str, *, forms: Sequence[str], at: datetime) -> Erased:
        """Erase the account's real-name data; its quota places are released by deleting its
        claims (RN-3 / RN-7: the identity or enterprise may verify another account); the
        projection is `cancelled` and remembers when it was erased."""
        await self.conn.execute(
            accounts.update()
            .where(accounts.c.account_id == account_id)
            .values(
                status=AccountStatus.CANCELLED.value,
                frozen_reasons=[],
                status_changed_at=sa.func.greatest(accounts.c.status_changed_at, at),
                erased_at=sa.func.coalesce(accounts.c.erased_at, at),
            )
        )
        person = await self._delete(personal_identities, account_id)
        enterprise = await self._delete(enterprise_identities, account_id)
        await self._delete(enterprise_rechecks, account_id)
        await self._delete(billing_standings, account_id)
        claims = await self._delete(quota_claims, account_id)
        attempts = await self._erase_attempts(account_id, at)
        requests = await self._erase_change_requests(account_id, forms, at)
        history = await self._erase_history(account_id)
        timer_rows = await self.conn.execute(
            timers.update()
            .where(
                timers.c.account_id == account_id,
                timers.c.state == TimerState.SCHEDULED.value,
            )
            .values(state=TimerState.CANCELLED.value, done_at=at)
        )
        actions = await self._redact_operator_notes(account_id, forms)
        sent = await self.conn.execute(
            outbox_table.delete().where(
                outbox_table.c.key == account_id, outbox_table.c.sent_at.is_not(None)
            )
        )
        return Erased(
            personal_identities=person,
            enterprise_identities=enterprise,
            enterprise_attempts=attempts,
            change_requests=requests,
            quota_claims=claims,
            history=history,
            timers=timer_rows.rowcount,
            operator_actions=actions,
            outbox=sent.rowcount,
        )

    async def _delete(self, table: sa.Table, account_id: str) -> int:
        result = await self.conn.execute(table.delete().where(table.c.account_id == account_id))
        return int(result.rowcount)

    async def _erase_attempts(self, account_id: str, at: datetime) -> int:
        """RN-5 recharges and remittances: an open one ends (`cancelled`); every one loses
        the enterprise, the legal person, the bank account and the amount."""
        a = enterprise_attempts.c
        await self.conn.execute(
            enterprise_attempts.update()
            .where(a.account_id == account_id, a.state == AttemptState.OPEN.value)
            .values(state=AttemptState.CANCELLED.value, ended_at=at)
        )
        result = await self.conn.execute(
            enterprise_attempts.update()
            .where(
                a.account_id == account_id,
                sa.or_(a.name != ERASED, a.uscc != ERASED, a.bank_sealed.is_not(None)),
            )
            .values(
                name=ERASED,
                uscc=ERASED,
                legal_person_name_masked=ERASED,
                amount_fen=0,
                bank_name=None,
                bank_account_masked=None,
                bank_sealed=None,
                bank_key_id=None,
            )
        )
        return int(result.rowcount)

    async def _erase_change_requests(
        self, account_id: str, forms: Sequence[str], at: datetime
    ) -> int:
        """RN-11: a change under review is closed (`withdrawn`); every one keeps its kind,
        state and decision (the reason without the values it quoted) and loses the data."""
        c = change_requests.c
        await self.conn.execute(
            change_requests.update()
            .where(c.account_id == account_id, c.state == ChangeState.UNDER_REVIEW.value)
            .values(state=ChangeState.WITHDRAWN.value, decided_at=at)
        )
        result = await self.conn.execute(
            change_requests.update()
            .where(
                c.account_id == account_id,
                sa.or_(c.name != ERASED, c.uscc != ERASED, c.sealed.is_not(None)),
            )
            .values(
                name=ERASED,
                uscc=ERASED,
                legal_person_name_masked=ERASED,
                legal_person_document_masked=None,
                sealed=None,
                key_id=None,
                previous=sa.cast({}, JSONB),
                decision_reason=_redacted(c.decision_reason, forms),
            )
        )
        return int(result.rowcount)

    async def _erase_history(self, account_id: str) -> int:
        """RN-16: the history is append-only; the status transitions stay for audit, the
        details that name the person or enterprise go (the one update its trigger allows)."""
        h = real_name_history.c
        keys = sa.cast(sa.literal(list(PERSONAL_DETAILS)), sa.ARRAY(sa.Text))
        result = await self.conn.execute(
            real_name_history.update()
            .where(h.account_id == account_id, h.details.has_any(keys))
            .values(details=h.details.op("-")(keys))
        )
        return int(result.rowcount)

    async def _redact_operator_notes(self, account_id: str, forms: Sequence[str]) -> int:
        """operator_actions stays (who decided what); a reason, subject or details that
        quoted the values loses them."""
        return await redact_operator_notes(
            self.conn, operator_actions, account_id, forms, redacted=REDACTED
        )


def _redacted(column: sa.ColumnElement[str], forms: Sequence[str]) -> sa.ColumnElement[str]:
    expression: sa.ColumnElement[str] = column
    for form in forms:
        expression = sa.func.replace(expression, form, REDACTED)
    return expression
