"""The cancellation service's tables (SQLAlchemy Core); migrations/ creates them."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# Projection of identity's accounts: what this service knows of each account.
accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("account_id", sa.Text, primary_key=True),
    sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("registration_method", sa.Text, nullable=False),
)
