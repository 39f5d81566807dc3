"""The cancellation service's tables (SQLAlchemy Core); migrations/ creates them."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from shared.operator_audit import operator_actions_table
from shared.timers import timers_table

metadata = sa.MetaData()
TZ = sa.DateTime(timezone=True)

# Projection of identity's accounts: registration (AccountRegistered) and status (ACC-3,
# AccountStatusChanged).
accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("account_id", sa.Text, primary_key=True),
    sa.Column("registered_at", TZ, nullable=False),
    sa.Column("registration_method", sa.Text),  # null once erased (CAN-7)
    sa.Column("status", sa.Text, nullable=False, server_default="active"),
    sa.Column("frozen_reasons", ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("status_changed_at", TZ),
)

# EXT: the newest standing per account and producer (billing, resources, cam, complaints),
# the contract's payload as the producer sent it; an account without a row is unknown.
standings = sa.Table(
    "standings",
    metadata,
    sa.Column("account_id", sa.Text, primary_key=True),
    sa.Column("producer", sa.Text, primary_key=True),
    sa.Column("as_of", TZ, nullable=False),
    sa.Column("payload", JSONB, nullable=False),
    sa.Column("event_id", sa.Text, nullable=False),
)

# CAN-1 (cam.events): accounts CAM reported as sub-accounts (created or associated).
sub_accounts = sa.Table(
    "sub_accounts",
    metadata,
    sa.Column("account_id", sa.Text, primary_key=True),
    sa.Column("root_account_id", sa.Text, nullable=False),
    sa.Column("link", sa.Text, nullable=False),
    sa.Column("linked_at", TZ, nullable=False),
)

# CAN-4..CAN-7: applications. At most one open (cooling_off) per account: the partial
# unique index makes that atomic under concurrent applications.
applications = sa.Table(
    "applications",
    metadata,
    sa.Column("application_id", sa.Text, primary_key=True),
    sa.Column("account_id", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("requested_at", TZ, nullable=False),
    sa.Column("cooling_off_ends_at", TZ, nullable=False),
    sa.Column("ended_at", TZ),
    sa.Column("reasons", ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("operator_reason", sa.Text),
    sa.Index(
        "applications_one_open_per_account",
        "account_id",
        unique=True,
        postgresql_where=sa.text("state = 'cooling_off'"),
    ),
    sa.Index("applications_by_account", "account_id", "requested_at"),
    sa.Index("applications_by_state", "state", "requested_at", "application_id"),
)

# Timers (ARCHITECTURE "Timers", shared/timers): due rows claimed FOR UPDATE SKIP LOCKED with a
# lease: each application's cooling-off end, and re-evaluations (CAN-6) due at once.
timers = timers_table(metadata)

# CAN-7: the erasure confirmations per application, one per service (cancellation's own
# written in the completion transaction, the others' as their AccountDataErased arrive).
erasures = sa.Table(
    "erasures",
    metadata,
    sa.Column("application_id", sa.Text, primary_key=True),
    sa.Column("service", sa.Text, primary_key=True),
    sa.Column("erased_at", TZ, nullable=False),
    sa.Column("kept", ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("recorded_at", TZ, nullable=False),
)

# The operators' audit trail: who decided what, about which application, and why.
operator_actions = operator_actions_table(metadata)
