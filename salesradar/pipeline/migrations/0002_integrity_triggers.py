"""Database triggers for rules a CHECK constraint cannot express across tables.

An opportunity's stage must belong to its process, and stage history is append-only. The
ORM enforces both too, but bulk loads and raw SQL bypass the ORM, so the database says no.
"""

from django.db import migrations

from salesradar.core.migration_sql import run_sql_per_vendor

SQLITE_FORWARD = [
    """CREATE TRIGGER pipeline_opportunity_stage_process_insert
    BEFORE INSERT ON pipeline_opportunity FOR EACH ROW
    WHEN (SELECT process_id FROM pipeline_stage WHERE id = NEW.stage_id) IS NOT NEW.process_id
    BEGIN SELECT RAISE(ABORT, 'opportunity stage does not belong to its process'); END""",
    """CREATE TRIGGER pipeline_opportunity_stage_process_update
    BEFORE UPDATE OF stage_id, process_id ON pipeline_opportunity FOR EACH ROW
    WHEN (SELECT process_id FROM pipeline_stage WHERE id = NEW.stage_id) IS NOT NEW.process_id
    BEGIN SELECT RAISE(ABORT, 'opportunity stage does not belong to its process'); END""",
    """CREATE TRIGGER pipeline_stagechange_append_only
    BEFORE UPDATE ON pipeline_stagechange FOR EACH ROW
    BEGIN SELECT RAISE(ABORT, 'stage history is append-only'); END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS pipeline_opportunity_stage_process_insert",
    "DROP TRIGGER IF EXISTS pipeline_opportunity_stage_process_update",
    "DROP TRIGGER IF EXISTS pipeline_stagechange_append_only",
]
POSTGRES_FORWARD = [
    """CREATE FUNCTION salesradar_opportunity_stage_process() RETURNS trigger AS $$
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM pipeline_stage
                     WHERE id = NEW.stage_id AND process_id = NEW.process_id) THEN
        RAISE EXCEPTION 'opportunity stage does not belong to its process'
          USING ERRCODE = 'check_violation';
      END IF;
      RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER pipeline_opportunity_stage_process
    BEFORE INSERT OR UPDATE OF stage_id, process_id ON pipeline_opportunity
    FOR EACH ROW EXECUTE FUNCTION salesradar_opportunity_stage_process()""",
    """CREATE FUNCTION salesradar_append_only() RETURNS trigger AS $$
    BEGIN
      RAISE EXCEPTION 'stage history is append-only' USING ERRCODE = 'integrity_constraint_violation';
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER pipeline_stagechange_append_only
    BEFORE UPDATE ON pipeline_stagechange
    FOR EACH ROW EXECUTE FUNCTION salesradar_append_only()""",
]
POSTGRES_BACKWARD = [
    "DROP TRIGGER IF EXISTS pipeline_stagechange_append_only ON pipeline_stagechange",
    "DROP FUNCTION IF EXISTS salesradar_append_only()",
    "DROP TRIGGER IF EXISTS pipeline_opportunity_stage_process ON pipeline_opportunity",
    "DROP FUNCTION IF EXISTS salesradar_opportunity_stage_process()",
]


class Migration(migrations.Migration):
    dependencies = [("pipeline", "0001_initial")]

    operations = [
        run_sql_per_vendor(
            {"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD},
            {"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD},
        )
    ]
