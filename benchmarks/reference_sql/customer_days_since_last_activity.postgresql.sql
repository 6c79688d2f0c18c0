SELECT c.id,
       EXTRACT(EPOCH FROM (CAST(%(at)s AS timestamptz) - COALESCE(la.last_at, c.created_at))) / 86400.0
FROM crm_customer c
LEFT JOIN (
    SELECT customer_id, MAX(occurred_at) AS last_at
    FROM activities_activity
    WHERE occurred_at <= %(at)s AND (created_at <= %(at)s OR backfilled)
    GROUP BY customer_id
) la ON la.customer_id = c.id
WHERE c.created_at <= %(at)s AND c.owner_id IS NOT NULL AND c.lifecycle <> 'churned'
