SELECT o.id,
       julianday(%(at)s) - julianday(COALESCE(la.last_at, o.created_at))
FROM pipeline_opportunity o
LEFT JOIN (
    SELECT opportunity_id, MAX(occurred_at) AS last_at
    FROM activities_activity
    WHERE opportunity_id IS NOT NULL AND occurred_at <= %(at)s AND (created_at <= %(at)s OR backfilled)
    GROUP BY opportunity_id
) la ON la.opportunity_id = o.id
WHERE o.created_at <= %(at)s AND (o.closed_at IS NULL OR o.closed_at > %(at)s)
