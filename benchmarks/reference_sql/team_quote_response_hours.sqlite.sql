SELECT u.team_id, date(q.sent_at, %(utc_offset)s, '-6 days', 'weekday 1') AS period,
       AVG((julianday(q.sent_at) - julianday(q.requested_at)) * 24.0)
FROM pipeline_quote q
JOIN pipeline_opportunity o ON o.id = q.opportunity_id
JOIN accounts_user u ON u.id = o.owner_id
WHERE EXISTS (SELECT 1 FROM accounts_user r WHERE r.team_id = u.team_id AND r.role = 'rep')
  AND q.sent_at >= %(window_start)s AND q.sent_at < %(window_end)s AND q.requested_at IS NOT NULL
GROUP BY u.team_id, period
