WITH last_change AS (
    SELECT opportunity_id, to_stage_id, changed_at FROM (
        SELECT opportunity_id, to_stage_id, changed_at,
               ROW_NUMBER() OVER (PARTITION BY opportunity_id ORDER BY changed_at DESC, id DESC) AS n
        FROM pipeline_stagechange
        WHERE changed_at <= %(at)s
    ) WHERE n = 1
), open_deal AS (
    -- an opportunity without any stage history counts in its recorded stage
    SELECT o.id, o.created_at,
           CASE WHEN lc.opportunity_id IS NOT NULL THEN lc.to_stage_id
                WHEN NOT EXISTS (SELECT 1 FROM pipeline_stagechange h WHERE h.opportunity_id = o.id)
                THEN o.stage_id END AS stage_id,
           CASE WHEN lc.opportunity_id IS NOT NULL THEN lc.changed_at
                WHEN NOT EXISTS (SELECT 1 FROM pipeline_stagechange h WHERE h.opportunity_id = o.id)
                THEN o.stage_entered_at END AS entered_at
    FROM pipeline_opportunity o
    LEFT JOIN last_change lc ON lc.opportunity_id = o.id
    WHERE o.created_at <= %(at)s AND (o.closed_at IS NULL OR o.closed_at > %(at)s)
)
SELECT d.id, (julianday(%(at)s) - julianday(d.entered_at)) * 1.0 / s.dwell_sla_days
FROM open_deal d
JOIN pipeline_stage s ON s.id = d.stage_id AND NOT s.is_won AND NOT s.is_lost
WHERE d.entered_at IS NOT NULL AND s.dwell_sla_days IS NOT NULL AND s.dwell_sla_days <> 0
