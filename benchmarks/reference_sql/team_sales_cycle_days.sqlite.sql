SELECT u.team_id, date(o.closed_at, %(utc_offset)s, 'start of month') AS period,
       AVG((julianday(o.closed_at) - julianday(o.created_at)) * 1.0)
FROM pipeline_opportunity o
JOIN pipeline_stage s ON s.id = o.stage_id AND s.is_won
JOIN accounts_user u ON u.id = o.owner_id
WHERE EXISTS (SELECT 1 FROM accounts_user r WHERE r.team_id = u.team_id AND r.role = 'rep')
  AND o.closed_at >= %(window_start)s AND o.closed_at < %(window_end)s
GROUP BY u.team_id, period
