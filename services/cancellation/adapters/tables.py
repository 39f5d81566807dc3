"""The cancellation service's tables (SQLAlchemy Core); migrations/ creates them."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

metadata = sa.MetaData()
TZ = sa.DateTime(timezone=True)

# Projection of identity's accounts: registration (AccountRegistered) and status (ACC-3,
# AccountStatusChanged).
accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("account_id", sa.Text, primary_key=True),
    sa.Column("registered_at", TZ, nullable=False),
    sa.Column("registration_method", sa.Text, nullable=False),
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
    sa.Index(
        "applications_one_open_per_account",
        "account_id",
        unique=True,
        postgresql_where=sa.text("state = 'cooling_off'"),
    ),
    sa.Index("applications_by_account", "account_id", "requested_at"),
)

# Timers (ARCHITECTURE "Timers"): due rows claimed FOR UPDATE SKIP LOCKED with a lease. The
# cooling-off end of each application is scheduled here; the worker comes with completion.
timers = sa.Table(
    "timers",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("account_id", sa.Text, nullable=False),
    sa.Column("ref", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("due_at", TZ, nullable=False),
    sa.Column("lease_until", TZ),
    sa.Column("claim_token", sa.Uuid),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", TZ, nullable=False),
    sa.Column("done_at", TZ),
    sa.Index("timers_due", "due_at", postgresql_where=sa.text("state = 'scheduled'")),
    sa.Index("timers_leased", "lease_until", postgresql_where=sa.text("state = 'claimed'")),
    sa.Index(
        "timers_one_live_per_ref",
        "kind",
        "ref",
        unique=True,
        postgresql_where=sa.text("state IN ('scheduled', 'claimed')"),
    ),
)
