SELECT u.team_id, date(a.occurred_at, %(utc_offset)s, '-6 days', 'weekday 1') AS period, COUNT(*)
FROM activities_activity a
JOIN accounts_user u ON u.id = a.owner_id
WHERE EXISTS (SELECT 1 FROM accounts_user r WHERE r.team_id = u.team_id AND r.role = 'rep')
  AND (a.created_at <= %(at)s OR a.backfilled) AND a.occurred_at >= %(window_start)s AND a.occurred_at < %(window_end)s
GROUP BY u.team_id, period
