"""The operators' audit trail: one column set for every service, each in its own database.

A decision an operator makes (unbind an MFA device, approve an appeal, set an enterprise's
limit, reject a cancellation) is recorded by `record_operator_action` in the transaction that
carries the decision out, so the record and the effect commit or fail together. Each service
declares the table in its own metadata (`operator_actions_table`) and creates or alters it
in its own migrations (a migration spells its columns out: it must not change later).

Columns: `subject` is what was decided about (`mfa`, `appeal:<id>`, `change:<id>`,
`uscc:<code>`, an application id); `account_id` is whose data it touches, when an account
is concerned (the erasure finds the rows by it); `reason` is the operator's own words;
`details` holds structured context (a limit and the one it replaced, a flag of the
decision). Details are values of the system, never a person's data: the operator's words
go in `reason`, which an erasure redacts (`redact_operator_notes`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

TZ = sa.DateTime(timezone=True)
NAME = "operator_actions"
# What `details` becomes on an erased account's row whose details (against the rule above)
# quoted the person: replacing inside JSON text could break the JSON, so the whole goes.
ERASED_DETAILS = {"erased": True}


def operator_actions_table(metadata: sa.MetaData) -> sa.Table:
    """The audit table in a service's own metadata: found by subject and by account."""
    return sa.Table(
        NAME,
        metadata,
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("operator_id", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("account_id", sa.Text),
        sa.Column("reason", sa.Text),
        sa.Column("details", JSONB),
        sa.Index(f"{NAME}_by_subject", "subject", "at"),
        sa.Index(f"{NAME}_by_account", "account_id", "at"),
    )


async def record_operator_action(
    conn: AsyncConnection,
    table: sa.Table,
    *,
    at: datetime,
    operator_id: str,
    action: str,
    subject: str,
    account_id: int | str | None = None,
    reason: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """One decision, in the caller's transaction (`conn` is the unit of work's)."""
    await conn.execute(
        table.insert().values(
            at=at,
            operator_id=operator_id,
            action=action,
            subject=subject,
            account_id=None if account_id is None else str(account_id),
            reason=reason,
            details=None if details is None else dict(details),
        )
    )


async def redact_operator_notes(
    conn: AsyncConnection,
    table: sa.Table,
    account_id: int | str,
    forms: Sequence[str],
    *,
    redacted: str,
) -> int:
    """Erasure (CAN-7): the account's rows stay (who decided what, when); every form of the
    person's data quoted in a reason or a subject becomes `redacted`, and details that
    quoted one are replaced by ERASED_DETAILS. Returns the rows changed."""
    if not forms:
        return 0
    c = table.c

    def mentions(column: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
        text = sa.func.coalesce(column, "")
        return sa.or_(*(sa.func.strpos(text, form) > 0 for form in forms))

    def without(column: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
        expression = column
        for form in forms:
            expression = sa.func.replace(expression, form, redacted)
        return expression

    details_text = sa.cast(c.details, sa.Text)
    result = await conn.execute(
        table.update()
        .where(
            c.account_id == str(account_id),
            sa.or_(mentions(c.reason), mentions(c.subject), mentions(details_text)),
        )
        .values(
            reason=without(c.reason),
            subject=without(c.subject),
            details=sa.case(
                (mentions(details_text), sa.cast(sa.literal(ERASED_DETAILS, JSONB), JSONB)),
                else_=c.details,
            ),
        )
    )
    return int(result.rowcount or 0)
