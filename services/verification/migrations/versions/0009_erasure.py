"""CAN-7: erasure. Accounts remember when their real-name data was erased, and the RN-16
history's append-only trigger allows exactly one update: removing the keys that name the
person or the enterprise from a row's details, every other column unchanged. DELETE and any
other UPDATE are still refused."""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# adapters/erasure.py PERSONAL_DETAILS, frozen here as this migration ran.
ERASABLE = "ARRAY['name', 'uscc', 'legal_person', 'document']"

ALLOW_ERASURE = f"""
CREATE OR REPLACE FUNCTION real_name_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
        AND (to_jsonb(NEW) - 'details') = (to_jsonb(OLD) - 'details')
        AND NEW.details = OLD.details - {ERASABLE}
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'real_name_history is append-only (RN-1)';
END $$
"""

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION real_name_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'real_name_history is append-only (RN-1)';
END $$
"""


def upgrade() -> None:
    op.add_column("accounts", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(ALLOW_ERASURE)


def downgrade() -> None:
    op.execute(APPEND_ONLY)
    op.drop_column("accounts", "erased_at")
