"""The notifier's tables (SQLAlchemy Core); migrations/ creates them."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from services.notifier.domain.delivery import DeliveryStatus
from services.notifier.domain.routing import Category
from shared.events import Channel
from shared.timers import timers_table

metadata = sa.MetaData()
E = TypeVar("E", bound=StrEnum)


class EnumText(sa.types.TypeDecorator[E]):
    """A text column read and written as a Python enum: no status string in the SQL."""

    impl = sa.Text
    cache_ok = True

    def __init__(self, enum: type[E]) -> None:
        super().__init__()
        self.enum = enum

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_literal_param(self, value: Any, dialect: sa.Dialect) -> str:
        return str(self.enum(value).value)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> E | None:
        return None if value is None else self.enum(value)


# Projection of identity.contacts: where each account is reached.
contacts = sa.Table(
    "contacts",
    metadata,
    sa.Column("account_id", sa.Text, primary_key=True),
    sa.Column("secure_phone", sa.Text),
    sa.Column("secure_email", sa.Text),
    sa.Column("message_phone", sa.Text),
    sa.Column("contact_email", sa.Text),
    sa.Column("language", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    # identity.contacts' tombstone arrived: kept until the erasure (the completion notice
    # still goes out), never updated again.
    sa.Column("tombstoned_at", sa.DateTime(timezone=True)),
)

# One row per (source event, channel): the courier queue and the delivery record.
deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column("source_event_id", postgresql.UUID(as_uuid=True), nullable=False),
    # The correlation of the source event: NotificationSent/Failed carry it on.
    sa.Column("correlation_id", postgresql.UUID(as_uuid=True)),
    sa.Column("channel", EnumText(Channel), nullable=False),
    sa.Column("message_type", sa.Text, nullable=False),
    sa.Column("category", EnumText(Category), nullable=False),
    sa.Column("account_id", sa.Text, nullable=False),
    # In clear only while the delivery is pending; the record keeps the masked form.
    sa.Column("destination", sa.Text),
    sa.Column("destination_masked", sa.Text),
    sa.Column("language", sa.Text),
    sa.Column("params", postgresql.JSONB, nullable=False),
    # queued -> sending -> sent | failed | skipped; a retry goes back to queued.
    sa.Column("status", EnumText(DeliveryStatus), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_error", sa.Text),
    # The claim of a sender: while status is sending and lease_until is ahead, nobody else
    # sends it; claim_token guards the outcome against a sender whose lease ran out.
    sa.Column("lease_until", sa.DateTime(timezone=True)),
    sa.Column("claim_token", postgresql.UUID(as_uuid=True)),
    sa.Column("provider_ref", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("source_event_id", "channel", name="deliveries_once_per_channel"),
    sa.Index("deliveries_due", "next_attempt_at", postgresql_where=sa.text("status = 'queued'")),
    sa.Index("deliveries_leased", "lease_until", postgresql_where=sa.text("status = 'sending'")),
    sa.Index("deliveries_by_account", "account_id", "created_at"),
    sa.Index("deliveries_by_time", "created_at"),
    sa.Index("deliveries_by_type", "message_type", "created_at"),
)

# CAN-7: the record of one account's erasure (what it was for, its bound, when it ran, its
# confirmation). When it runs is an `erasure` timer (`timers`, below).
erasures = sa.Table(
    "erasures",
    metadata,
    sa.Column("account_id", sa.Text, primary_key=True),
    # From CancellationCompleted; null while only identity's tombstone asked for it.
    sa.Column("application_id", sa.Text),
    sa.Column("source_event_id", postgresql.UUID(as_uuid=True)),
    sa.Column("correlation_id", postgresql.UUID(as_uuid=True)),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("erase_by", sa.DateTime(timezone=True), nullable=False),
    sa.Column("erased_at", sa.DateTime(timezone=True)),
    # Erased at erase_by with deliveries still pending (they failed: account_erased).
    sa.Column("forced", sa.Boolean),
    # NotifierDataErased queued in the outbox (once the application is known).
    sa.Column("confirmed_at", sa.DateTime(timezone=True)),
)

# Timers (ARCHITECTURE "Timers", shared/timers): the erasures' due rows, claimed FOR UPDATE
# SKIP LOCKED with a lease and a claim token.
timers = timers_table(metadata)
