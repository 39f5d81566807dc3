"""The identity service's tables (SQLAlchemy Core); migrations/ creates them."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

metadata = sa.MetaData()

account_id_seq = sa.Sequence("account_id_seq", start=100000000001, metadata=metadata)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("account_id", sa.BigInteger, account_id_seq, primary_key=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("frozen_reasons", postgresql.ARRAY(sa.Text), nullable=False),
    sa.Column("nickname", sa.Text, nullable=True),
    sa.Column("language", sa.Text, nullable=False),
    sa.Column("password_hash", sa.Text, nullable=True),
    sa.Column("secure_phone", sa.Text, nullable=True),
    sa.Column("secure_email", sa.Text, nullable=True),
    sa.Column("message_phone", sa.Text, nullable=True),
    sa.Column("contact_email", sa.Text, nullable=True),
    sa.Column("real_name_status", sa.Text, nullable=False),
    sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
    # LOGIN-2/4: a lock recorded with its AccountLocked, checked when Redis has lost it.
    sa.Column("password_locked_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("password_lock_until_reset", sa.Boolean, nullable=False, server_default=sa.false()),
    # The Redis ms the streak that spent the budget began (LoginGuard's `since`): names it.
    sa.Column("password_lock_streak", sa.BigInteger, nullable=True),
    sa.Index("accounts_secure_phone", "secure_phone"),
)

login_methods = sa.Table(
    "login_methods",
    metadata,
    sa.Column("account_id", sa.BigInteger, sa.ForeignKey("accounts.account_id"), primary_key=True),
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("identifier", sa.Text, nullable=False),
    sa.Column("subtype", sa.Text, nullable=True),
    sa.Column("display", sa.Text, nullable=False),
    sa.Column("bound_at", sa.DateTime(timezone=True), nullable=False),
    # LM-2: QQ, email, WeCom and Official Account identities bind one account each.
    sa.Index(
        "login_methods_quota_one",
        "kind",
        "identifier",
        unique=True,
        postgresql_where=sa.text("kind IN ('qq', 'email', 'wecom', 'official_account')"),
    ),
    sa.Index("login_methods_identity", "kind", "identifier"),
)

login_attempts = sa.Table(
    "login_attempts",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("account_id", sa.BigInteger, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("method", sa.Text, nullable=False),
    sa.Column("device_id", sa.Text, nullable=True),
    sa.Column("ip", sa.Text, nullable=True),
    sa.Column("result", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    # Refusals while locked are summarised: one row stands for this many attempts.
    sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("1")),
    sa.Index("login_attempts_by_account", "account_id", "at"),
)

known_devices = sa.Table(
    "known_devices",
    metadata,
    sa.Column("account_id", sa.BigInteger, primary_key=True),
    sa.Column("device_id", sa.Text, primary_key=True),
    sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
)

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("project_id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column("account_id", sa.BigInteger, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("account_id", "name", name="projects_name_per_account"),
)
