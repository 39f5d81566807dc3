"""Deliveries wake the couriers from a trigger: NOTIFY without a round trip per event.

A statement-level trigger on INSERT runs pg_notify once per statement; PostgreSQL delivers
one notification per channel and payload per transaction, at commit, to every listening
notifier instance.
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION notifier_deliveries_wake() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('notifier_deliveries', '');
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER deliveries_wake AFTER INSERT ON deliveries "
        "FOR EACH STATEMENT EXECUTE FUNCTION notifier_deliveries_wake()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER deliveries_wake ON deliveries")
    op.execute("DROP FUNCTION notifier_deliveries_wake()")
