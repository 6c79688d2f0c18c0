SELECT q.id, EXTRACT(EPOCH FROM (CAST(%(at)s AS timestamptz) - q.requested_at)) / 3600.0
FROM pipeline_quote q
JOIN pipeline_opportunity o ON o.id = q.opportunity_id
WHERE q.requested_at <= %(at)s AND (q.sent_at IS NULL OR q.sent_at > %(at)s)
  AND (o.closed_at IS NULL OR o.closed_at > %(at)s)
