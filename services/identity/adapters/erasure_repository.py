"""Erasing a cancelled account's personal data from identity's tables (CAN-7).

Everything runs on the caller's connection, inside the inbox transaction of the
CancellationCompleted that asked for it: the erasure, the status change and the confirming
event commit together or not at all."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.identity.adapters.tables import (
    accounts,
    auth_flows,
    devices,
    login_attempts,
    login_methods,
    mfa_devices,
    operator_actions,
    projects,
    recovery_appeals,
)
from services.identity.domain.erasure import ERASED, Erased, PersonalData, personal_data
from services.identity.domain.errors import AccountNotFound
from services.identity.domain.recovery import AppealStatus
from shared.operator_audit import redact_operator_notes
from shared.outbox import outbox_parked_table, outbox_table

# What an erased value becomes inside free text an operator or the owner wrote.
REDACTED = "[erased]"
# The operator id of a pending appeal closed by the erasure.
ERASURE_DECIDER = "system:erasure"
# The only topic whose events carry a destination in clear (ARCHITECTURE "Events").
DESTINATION_TOPIC = "notifier.requests"


async def personal_data_of(conn: AsyncConnection, account_id: int) -> PersonalData:
    """Lock the account and gather every value that names its person."""
    row = (
        await conn.execute(
            sa.select(
                accounts.c.secure_phone,
                accounts.c.secure_email,
                accounts.c.message_phone,
                accounts.c.contact_email,
            )
            .where(accounts.c.account_id == account_id)
            .with_for_update()
        )
    ).first()
    if row is None:
        raise AccountNotFound(f"No account {account_id}.")
    methods = await conn.execute(
        sa.select(login_methods.c.kind, login_methods.c.identifier).where(
            login_methods.c.account_id == account_id
        )
    )
    appeal_emails: sa.ScalarResult[str] = await conn.scalars(
        sa.select(recovery_appeals.c.email).where(recovery_appeals.c.account_id == account_id)
    )
    flows: sa.ScalarResult[uuid.UUID] = await conn.scalars(
        sa.select(auth_flows.c.flow_id).where(auth_flows.c.account_id == account_id)
    )
    return personal_data(
        account_id,
        channels=[row.secure_phone, row.secure_email, row.message_phone, row.contact_email],
        methods=[(m.kind, m.identifier) for m in methods],
        appeal_emails=[e for e in appeal_emails if e],
        flow_ids=[str(f) for f in flows],
    )


async def held_by_others(
    conn: AsyncConnection, account_id: int, destinations: Iterable[str]
) -> set[str]:
    """The destinations (lower-cased, as codes are keyed) another live account still uses: a
    shared secure phone (SEC-1), or an email that is another account's channel or login
    email. Their codes must not be touched."""
    values = sorted({d.lower() for d in destinations})
    if not values:
        return set()
    live_other = sa.and_(accounts.c.account_id != account_id, accounts.c.status != "cancelled")
    found: set[str] = set()
    for column in (
        accounts.c.secure_phone,
        accounts.c.secure_email,
        accounts.c.message_phone,
        accounts.c.contact_email,
    ):
        rows: sa.ScalarResult[str] = await conn.scalars(
            sa.select(sa.func.lower(column)).where(sa.func.lower(column).in_(values), live_other)
        )
        found.update(rows)
    logins: sa.ScalarResult[str] = await conn.scalars(
        sa.select(login_methods.c.identifier).where(
            login_methods.c.kind == "email",
            login_methods.c.identifier.in_(values),
            login_methods.c.account_id != account_id,
        )
    )
    found.update(logins)
    return found


def _redacted(column: sa.ColumnElement[str], forms: Sequence[str]) -> sa.ColumnElement[str]:
    """The column's text with every form replaced (longest first)."""
    expression: sa.ColumnElement[str] = column
    for form in forms:
        expression = sa.func.replace(expression, form, REDACTED)
    return expression


def _mentions(column: sa.ColumnElement[str], forms: Sequence[str]) -> sa.ColumnElement[bool]:
    if not forms:
        return sa.false()
    return sa.or_(*(sa.func.strpos(column, form) > 0 for form in forms))


async def erase(conn: AsyncConnection, data: PersonalData, *, at: datetime) -> Erased:
    """Erase the account's personal data; keep the row (its id is never reused), the status,
    and the audit the README names, with every copied value redacted."""
    account_id = data.account_id
    forms = data.search_forms()
    await conn.execute(
        accounts.update()
        .where(accounts.c.account_id == account_id)
        .values(
            nickname=None,
            password_hash=None,
            secure_phone=None,
            secure_email=None,
            message_phone=None,
            contact_email=None,
            password_locked_until=None,
            password_lock_until_reset=False,
            password_lock_streak=None,
            login_protection=False,
            operation_protection=False,
            erased_at=sa.func.coalesce(accounts.c.erased_at, at),
        )
    )
    methods = await conn.execute(
        login_methods.delete().where(login_methods.c.account_id == account_id)
    )
    attempts = await conn.execute(
        login_attempts.update()
        .where(
            login_attempts.c.account_id == account_id,
            sa.or_(login_attempts.c.ip.is_not(None), login_attempts.c.device_id.is_not(None)),
        )
        .values(ip=None, device_id=None)
    )
    flows = await conn.execute(auth_flows.delete().where(auth_flows.c.account_id == account_id))
    device_rows = await conn.execute(devices.delete().where(devices.c.account_id == account_id))
    mfa = await conn.execute(mfa_devices.delete().where(mfa_devices.c.account_id == account_id))
    appeals = await _erase_appeals(conn, account_id, forms, at)
    actions = await _redact_operator_notes(conn, account_id, forms)
    project_rows = await _redact_projects(conn, account_id, forms, at)
    outbox = await _forget_sent_events(conn, account_id, forms)
    return Erased(
        login_methods=methods.rowcount,
        login_attempts=attempts.rowcount,
        auth_flows=flows.rowcount,
        devices=device_rows.rowcount,
        mfa_devices=mfa.rowcount,
        recovery_appeals=appeals,
        operator_actions=actions,
        projects=project_rows,
        outbox=outbox,
    )


async def _erase_appeals(
    conn: AsyncConnection, account_id: int, forms: Sequence[str], at: datetime
) -> int:
    """REC-2 appeals keep their decision (status, when, by whom, why: a reason that quoted
    the email or phone loses it) and lose the email, the password hash, the statement and
    the address; a pending one is closed, since a cancelled account can no longer be
    recovered."""
    appeals = recovery_appeals.c
    await conn.execute(
        recovery_appeals.update()
        .where(appeals.account_id == account_id, appeals.status == AppealStatus.PENDING.value)
        .values(
            status=AppealStatus.REJECTED.value,
            decided_at=at,
            decided_by=ERASURE_DECIDER,
            decision_reason="account cancelled",
        )
    )
    result = await conn.execute(
        recovery_appeals.update()
        .where(
            appeals.account_id == account_id,
            sa.or_(
                appeals.email != ERASED,
                appeals.email_key != ERASED,
                appeals.password_hash != ERASED,
                appeals.statement != ERASED,
                appeals.ip.is_not(None),
                _mentions(sa.func.coalesce(appeals.decision_reason, ""), forms),
            ),
        )
        .values(
            email=ERASED,
            email_key=ERASED,
            password_hash=ERASED,
            statement=ERASED,
            ip=None,
            decision_reason=_redacted(appeals.decision_reason, forms),
        )
    )
    return result.rowcount


async def _redact_operator_notes(
    conn: AsyncConnection, account_id: int, forms: Sequence[str]
) -> int:
    """operator_actions stays (the audit of who decided what); a reason, subject or details
    that quoted the person's email or phone loses it."""
    return await redact_operator_notes(conn, operator_actions, account_id, forms, redacted=REDACTED)


async def _redact_projects(
    conn: AsyncConnection, account_id: int, forms: Sequence[str], at: datetime
) -> int:
    """Projects are never deleted (PRJ-1), but a name or description that quoted the
    person's email or phone loses it; names stay unique per account."""
    if not forms:
        return 0
    rows = (
        await conn.execute(
            sa.select(projects.c.project_id, projects.c.name, projects.c.description).where(
                projects.c.account_id == account_id
            )
        )
    ).all()
    taken = {row.name for row in rows}
    changed = 0
    for row in rows:
        name, description = _redact_text(row.name, forms), _redact_text(row.description, forms)
        if (name, description) == (row.name, row.description):
            continue
        if name != row.name:
            taken.discard(row.name)
            name = name if name not in taken else f"{name} {str(row.project_id)[:8]}"
            taken.add(name)
        await conn.execute(
            projects.update()
            .where(projects.c.project_id == row.project_id)
            .values(name=name, description=description, updated_at=at)
        )
        changed += 1
    return changed


def _redact_text(text: str, forms: Sequence[str]) -> str:
    for form in forms:
        text = text.replace(form, REDACTED)
    return text


async def _forget_sent_events(conn: AsyncConnection, account_id: int, forms: Sequence[str]) -> int:
    """The outbox keeps sent events for a while (retention); the account's (keyed by it:
    its contacts record in clear, among others) and the delivery requests that named its
    destinations (anonymous register codes carry no account) go now. Unsent rows stay: they
    are still to be published, and this transaction's own rows are among them."""
    o = outbox_table.c
    text = sa.func.convert_from(o.value, "UTF8")
    conditions = [o.key == str(account_id)]
    if forms:
        conditions.append(
            sa.and_(
                o.topic.endswith(DESTINATION_TOPIC), o.value.is_not(None), _mentions(text, forms)
            )
        )
    sent = await conn.execute(
        outbox_table.delete().where(o.sent_at.is_not(None), sa.or_(*conditions))
    )
    parked_count = 0
    if forms:
        p = outbox_parked_table.c
        parked = await conn.execute(
            outbox_parked_table.delete().where(
                p.value.is_not(None),
                _mentions(sa.func.convert_from(p.value, "UTF8"), forms),
            )
        )
        parked_count = parked.rowcount
    return int(sent.rowcount) + int(parked_count)
