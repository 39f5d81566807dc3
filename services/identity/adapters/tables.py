"""The identity service's tables (SQLAlchemy Core); migrations/ creates them."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from shared.operator_audit import operator_actions_table

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
    # CAN-7: when the personal data was erased (the first erasure; a second changes nothing).
    sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
    # LOGIN-2/4: a lock recorded with its AccountLocked, checked when Redis has lost it.
    sa.Column("password_locked_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("password_lock_until_reset", sa.Boolean, nullable=False, server_default=sa.false()),
    # The Redis ms the streak that spent the budget began (LoginGuard's `since`): names it.
    sa.Column("password_lock_streak", sa.BigInteger, nullable=True),
    # PROT-1: per-account protection settings.
    sa.Column("login_protection", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("operation_protection", sa.Boolean, nullable=False, server_default=sa.false()),
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

# MFA-1/6: one virtual MFA device per account; the TOTP secret only as AES-GCM ciphertext,
# with the id of the key that sealed it (rotation).
mfa_devices = sa.Table(
    "mfa_devices",
    metadata,
    sa.Column("account_id", sa.BigInteger, sa.ForeignKey("accounts.account_id"), primary_key=True),
    sa.Column("state", sa.Text, nullable=False),  # pending | active
    sa.Column("secret_ciphertext", sa.LargeBinary, nullable=False),
    sa.Column("key_id", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
)

# LOGIN-5 / PROT-1: a login or a step-up in progress, and the assurance level it has reached.
auth_flows = sa.Table(
    "auth_flows",
    metadata,
    sa.Column("flow_id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),  # login | step_up
    sa.Column("account_id", sa.BigInteger, sa.ForeignKey("accounts.account_id"), nullable=False),
    sa.Column("session_id", sa.Text, nullable=True),  # step_up: the session it raises
    sa.Column("method", sa.Text, nullable=False),  # the first factor's method
    sa.Column("aal", sa.SmallInteger, nullable=False),
    sa.Column("amr", postgresql.ARRAY(sa.Text), nullable=False),
    sa.Column("device_id", sa.Text, nullable=True),
    sa.Column("ip", sa.Text, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("auth_flows_expiry", "expires_at"),
)

# LOGIN-5/6: devices identity issued a credential to (only its hash is kept); a trusted one
# skips the second factor until trusted_until.
devices = sa.Table(
    "devices",
    metadata,
    sa.Column("device_pk", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column("account_id", sa.BigInteger, sa.ForeignKey("accounts.account_id"), nullable=False),
    sa.Column("credential_hash", sa.Text, nullable=False, unique=True),
    sa.Column("label", sa.Text, nullable=True),
    sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("trusted_until", sa.DateTime(timezone=True), nullable=True),
    sa.Index("devices_by_account", "account_id"),
)

# REC-2: a self-service appeal to bind a new login email, decided by an operator.
recovery_appeals = sa.Table(
    "recovery_appeals",
    metadata,
    sa.Column("appeal_id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column("account_id", sa.BigInteger, sa.ForeignKey("accounts.account_id"), nullable=False),
    sa.Column("email", sa.Text, nullable=False),
    sa.Column("email_key", sa.Text, nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("reset_mfa", sa.Boolean, nullable=False),
    sa.Column("statement", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),  # pending | approved | rejected
    sa.Column("ip", sa.Text, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("decided_by", sa.Text, nullable=True),
    sa.Column("decision_reason", sa.Text, nullable=True),
    sa.Index("recovery_appeals_by_status", "status", "created_at"),
    sa.Index("recovery_appeals_by_account", "account_id"),
)

# MFA-4, REC-2, unlocks: what an operator decided, by whom and why (the audit trail).
operator_actions = operator_actions_table(metadata)
