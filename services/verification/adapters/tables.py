"""The verification service's tables (SQLAlchemy Core); migrations/ creates them."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from shared.operator_audit import operator_actions_table
from shared.timers import timers_table

metadata = sa.MetaData()

# Projection of identity's accounts: registration (AccountRegistered) and status (ACC-3,
# AccountStatusChanged).
accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("account_id", sa.Text, primary_key=True),
    sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("registration_method", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="active"),
    sa.Column("frozen_reasons", ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("status_changed_at", sa.DateTime(timezone=True)),
    # CAN-7: when the account's real-name data was erased (its first erasure).
    sa.Column("erased_at", sa.DateTime(timezone=True)),
)

# RN-1: each account's real-name status now (one row per account, from registration).
real_names = sa.Table(
    "real_names",
    metadata,
    sa.Column("account_id", sa.Text, primary_key=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("subject", sa.Text),
    sa.Column("method", sa.Text),
    sa.Column("verified_at", sa.DateTime(timezone=True)),  # last authentication (RN-9)
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# RN-1, RN-16: every status change, append-only (a trigger refuses UPDATE and DELETE, but
# the erasure's removal of personal keys from `details`, CAN-7). Details are masked (RN-17).
real_name_history = sa.Table(
    "real_name_history",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("account_id", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("previous_status", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("subject", sa.Text),
    sa.Column("method", sa.Text),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("details", JSONB, nullable=False, server_default="{}"),
    sa.Index("real_name_history_by_account", "account_id", "id"),
)

# RN-2..RN-4, RN-17: the person an account verified as. The name and the document number
# are sealed together (AES-256-GCM, key id kept for rotation); the masked forms are what
# replies show; the fingerprint (keyed HMAC) is what quotas count.
personal_identities = sa.Table(
    "personal_identities",
    metadata,
    sa.Column("account_id", sa.Text, primary_key=True),
    sa.Column("region", sa.Text, nullable=False),
    sa.Column("document_kind", sa.Text, nullable=False),
    sa.Column("name_masked", sa.Text, nullable=False),
    sa.Column("document_masked", sa.Text, nullable=False),
    sa.Column("sealed", sa.LargeBinary, nullable=False),
    sa.Column("key_id", sa.Text, nullable=False),
    sa.Column("fingerprint", sa.Text, nullable=False),
    sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
)

# RN-3 (and RN-7): quotas of accounts per identity. One row per quota key (kind + keyed
# hash), locked to count; `limit_override` is RN-7's per-enterprise limit.
quota_keys = sa.Table(
    "quota_keys",
    metadata,
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("key_hash", sa.Text, primary_key=True),
    sa.Column("limit_override", sa.Integer),
)

# One row per account counted against a key: `reserved` while a check runs (until
# `lease_until`), `held` once verified, `released` when it no longer counts. At most one
# reserved and one held claim per account and kind (RN-7: one account verifies one
# enterprise); a change (RN-9) reserves its new place while the old one is held, and
# releases the old one in the transaction that holds the new one.
quota_claims = sa.Table(
    "quota_claims",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("key_hash", sa.Text, nullable=False),
    sa.Column("account_id", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("lease_until", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("quota_claims_by_key", "kind", "key_hash", "state"),
    sa.Index(
        "quota_claims_one_reserved_per_account",
        "kind",
        "account_id",
        unique=True,
        postgresql_where=sa.text("state = 'reserved'"),
    ),
    sa.Index(
        "quota_claims_one_held_per_account",
        "kind",
        "account_id",
        unique=True,
        postgresql_where=sa.text("state = 'held'"),
    ),
)

# RN-5..RN-8: the enterprise an account verified as. Name and code are the registry's public
# data; the legal person's name and document (when a legal-person method checked them) are
# sealed, masked forms beside them.
enterprise_identities = sa.Table(
    "enterprise_identities",
    metadata,
    sa.Column("account_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("uscc", sa.Text, nullable=False),
    sa.Column("legal_person_name_masked", sa.Text, nullable=False),
    sa.Column("legal_person_region", sa.Text, nullable=False),
    sa.Column("legal_person_document_masked", sa.Text),
    sa.Column("sealed", sa.LargeBinary),
    sa.Column("key_id", sa.Text),
    sa.Column("method", sa.Text, nullable=False),
    sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
)

# RN-5: a recharge or remittance waiting for money or for the amount: `open` until it
# completes, expires (its timer), runs out of tries or is cancelled. One open per account.
# The bank account is sealed (RN-17); `amount_fen` is never shown but in the recharge's
# instructions to the owner.
enterprise_attempts = sa.Table(
    "enterprise_attempts",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("account_id", sa.Text, nullable=False),
    sa.Column("method", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("uscc", sa.Text, nullable=False),
    sa.Column("legal_person_name_masked", sa.Text, nullable=False),
    sa.Column("legal_person_region", sa.Text, nullable=False),
    sa.Column("amount_fen", sa.Integer, nullable=False),
    sa.Column("tries_left", sa.Integer, nullable=False),
    sa.Column("bank_name", sa.Text),
    sa.Column("bank_account_masked", sa.Text),
    sa.Column("bank_sealed", sa.LargeBinary),
    sa.Column("bank_key_id", sa.Text),
    sa.Column("payment_id", sa.Text, unique=True),
    sa.Column("claim_id", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True)),
    sa.Index(
        "enterprise_attempts_one_open_per_account",
        "account_id",
        unique=True,
        postgresql_where=sa.text("state = 'open'"),
    ),
)

# Timers (ARCHITECTURE "Timers"): due rows claimed FOR UPDATE SKIP LOCKED with a lease and
# a claim token, fired in a transaction that ends them only if the token is still theirs.
timers = timers_table(metadata)

# RN-10 (EXT): billing's standing of each account, the newest `as_of` only. An account
# without a row is unknown to billing, and unknown refuses a change.
billing_standings = sa.Table(
    "billing_standings",
    metadata,
    sa.Column("account_id", sa.Text, primary_key=True),
    sa.Column("overdue_fen", sa.BigInteger, nullable=False),
    sa.Column("advance_payment_fen", sa.BigInteger, nullable=False),
    sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
    sa.Column("event_id", sa.Text, nullable=False),
)

# RN-11: enterprise changes (entity, name, legal person) under operator review. The new
# data waits here and applies to enterprise_identities on approval; `previous` keeps what it
# replaced (public data and masked forms only). One under review per account.
change_requests = sa.Table(
    "change_requests",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("account_id", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("uscc", sa.Text, nullable=False),
    sa.Column("legal_person_name_masked", sa.Text, nullable=False),
    sa.Column("legal_person_region", sa.Text, nullable=False),
    sa.Column("legal_person_document_masked", sa.Text),
    sa.Column("sealed", sa.LargeBinary),
    sa.Column("key_id", sa.Text),
    sa.Column("previous", JSONB, nullable=False),
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("review_due_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("escalated_at", sa.DateTime(timezone=True)),
    sa.Column("decided_at", sa.DateTime(timezone=True)),
    sa.Column("decided_by", sa.Text),
    sa.Column("decision_reason", sa.Text),
    sa.Index(
        "change_requests_one_under_review_per_account",
        "account_id",
        unique=True,
        postgresql_where=sa.text("state = 'under_review'"),
    ),
    sa.Index("change_requests_by_state", "state", "submitted_at"),
)

# RN-12 (EXT, cam.events): an account's root account. `created`: the root created it, it
# inherits the root's real name and follows its changes; `associated`: an existing account
# joined the root, it verifies itself.
sub_accounts = sa.Table(
    "sub_accounts",
    metadata,
    sa.Column("account_id", sa.Text, primary_key=True),
    sa.Column("root_account_id", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("sub_accounts_by_root", "root_account_id", "kind"),
)

# RN-13: when each verified enterprise was last re-checked against the registry (no row:
# at its verification) and the notice pending on it (`noticed_at`: its grace timer runs).
enterprise_rechecks = sa.Table(
    "enterprise_rechecks",
    metadata,
    sa.Column("account_id", sa.Text, primary_key=True),
    sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("notice_reason", sa.Text),
    sa.Column("noticed_at", sa.DateTime(timezone=True)),
)

# What an operator decided (RN-7 limits, and later reviews): who, what, about what, why.
operator_actions = operator_actions_table(metadata)
