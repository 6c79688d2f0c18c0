SELECT t.id, COALESCE(EXTRACT(EPOCH FROM (CAST(%(at)s AS timestamptz) - la.last_logged)) / 86400.0, 365.0)
FROM accounts_team t
LEFT JOIN (
    SELECT u.team_id, MAX(a.created_at) AS last_logged
    FROM activities_activity a
    JOIN accounts_user u ON u.id = a.owner_id
    WHERE a.created_at <= %(at)s
    GROUP BY u.team_id
) la ON la.team_id = t.id
WHERE EXISTS (SELECT 1 FROM accounts_user r WHERE r.team_id = t.id AND r.role = 'rep')
