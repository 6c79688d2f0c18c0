"""Database trigger that keeps alert history append-only.

The ORM refuses to update or delete alert events too, but bulk loads and raw SQL bypass the
ORM, so the database says no. Deleting an alert (or its rule) still removes its events.
"""

from django.db import migrations

from salesradar.core.migration_sql import run_sql_per_vendor

SQLITE_FORWARD = [
    """CREATE TRIGGER alerts_alertevent_append_only
    BEFORE UPDATE ON alerts_alertevent FOR EACH ROW
    BEGIN SELECT RAISE(ABORT, 'alert history is append-only'); END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS alerts_alertevent_append_only",
]
POSTGRES_FORWARD = [
    """CREATE FUNCTION salesradar_alert_history_append_only() RETURNS trigger AS $$
    BEGIN
      RAISE EXCEPTION 'alert history is append-only' USING ERRCODE = 'integrity_constraint_violation';
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER alerts_alertevent_append_only
    BEFORE UPDATE ON alerts_alertevent
    FOR EACH ROW EXECUTE FUNCTION salesradar_alert_history_append_only()""",
]
POSTGRES_BACKWARD = [
    "DROP TRIGGER IF EXISTS alerts_alertevent_append_only ON alerts_alertevent",
    "DROP FUNCTION IF EXISTS salesradar_alert_history_append_only()",
]


class Migration(migrations.Migration):
    dependencies = [("alerts", "0001_initial")]

    operations = [
        run_sql_per_vendor(
            {"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD},
            {"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD},
        )
    ]
