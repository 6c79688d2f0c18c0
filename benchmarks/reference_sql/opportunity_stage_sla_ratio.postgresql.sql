WITH last_change AS (
    SELECT DISTINCT ON (opportunity_id) opportunity_id, to_stage_id, changed_at
    FROM pipeline_stagechange
    WHERE changed_at <= %(at)s
    ORDER BY opportunity_id, changed_at DESC, id DESC
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
SELECT d.id, EXTRACT(EPOCH FROM (CAST(%(at)s AS timestamptz) - d.entered_at)) / 86400.0 / s.dwell_sla_days
FROM open_deal d
JOIN pipeline_stage s ON s.id = d.stage_id AND NOT s.is_won AND NOT s.is_lost
WHERE d.entered_at IS NOT NULL AND s.dwell_sla_days IS NOT NULL AND s.dwell_sla_days <> 0
