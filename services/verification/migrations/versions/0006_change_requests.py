"""RN-11: enterprise real-name changes under operator review (one under review per
account); the new legal person's document sealed (RN-17)."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "change_requests",
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
        sa.Column("submitted_at", TZ, nullable=False),
        sa.Column("review_due_at", TZ, nullable=False),
        sa.Column("escalated_at", TZ),
        sa.Column("decided_at", TZ),
        sa.Column("decided_by", sa.Text),
        sa.Column("decision_reason", sa.Text),
    )
    op.create_index(
        "change_requests_one_under_review_per_account",
        "change_requests",
        ["account_id"],
        unique=True,
        postgresql_where=sa.text("state = 'under_review'"),
    )
    op.create_index("change_requests_by_state", "change_requests", ["state", "submitted_at"])


def downgrade() -> None:
    op.drop_table("change_requests")
