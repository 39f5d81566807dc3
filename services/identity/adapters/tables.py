"""The identity service's tables (SQLAlchemy Core); migrations/ creates them."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

account_id_seq = sa.Sequence("account_id_seq", start=100000000001, metadata=metadata)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("account_id", sa.BigInteger, account_id_seq, primary_key=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("nickname", sa.Text, nullable=True),
    sa.Column("language", sa.Text, nullable=False),
    sa.Column("contact_email", sa.Text, nullable=True),
    sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
)

login_methods = sa.Table(
    "login_methods",
    metadata,
    sa.Column("account_id", sa.BigInteger, sa.ForeignKey("accounts.account_id"), primary_key=True),
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("identifier", sa.Text, nullable=False),
    sa.Column("bound_at", sa.DateTime(timezone=True), nullable=False),
)
