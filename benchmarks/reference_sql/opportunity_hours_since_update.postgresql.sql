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
SELECT d.id, EXTRACT(EPOCH FROM (CAST(%(at)s AS timestamptz) - GREATEST(COALESCE(d.entered_at, d.created_at), COALESCE(la.last_at, d.created_at), COALESCE(q.last_requested, d.created_at), COALESCE(q.last_sent, d.created_at)))) / 3600.0
FROM open_deal d
JOIN pipeline_stage s ON s.id = d.stage_id AND NOT s.is_won AND NOT s.is_lost
LEFT JOIN (
    SELECT opportunity_id, MAX(occurred_at) AS last_at
    FROM activities_activity
    WHERE opportunity_id IS NOT NULL AND occurred_at <= %(at)s AND (created_at <= %(at)s OR backfilled)
    GROUP BY opportunity_id
) la ON la.opportunity_id = d.id
LEFT JOIN (
    SELECT opportunity_id,
           MAX(CASE WHEN requested_at <= %(at)s THEN requested_at END) AS last_requested,
           MAX(CASE WHEN sent_at <= %(at)s THEN sent_at END) AS last_sent
    FROM pipeline_quote
    GROUP BY opportunity_id
) q ON q.opportunity_id = d.id
