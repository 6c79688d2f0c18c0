SELECT u.team_id, CAST(date_trunc('week', q.sent_at AT TIME ZONE %(tz)s) AS date) AS period,
       AVG(EXTRACT(EPOCH FROM (q.sent_at - q.requested_at)) / 3600.0)
FROM pipeline_quote q
JOIN pipeline_opportunity o ON o.id = q.opportunity_id
JOIN accounts_user u ON u.id = o.owner_id
WHERE EXISTS (SELECT 1 FROM accounts_user r WHERE r.team_id = u.team_id AND r.role = 'rep')
  AND q.sent_at >= %(window_start)s AND q.sent_at < %(window_end)s AND q.requested_at IS NOT NULL
GROUP BY u.team_id, period
