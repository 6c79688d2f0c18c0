SELECT l.id, (julianday(%(at)s) - julianday(l.assigned_at)) * 24.0
FROM crm_lead l
WHERE l.assigned_at <= %(at)s AND l.owner_id IS NOT NULL
  AND (l.first_contact_at IS NULL OR l.first_contact_at > %(at)s)
  AND l.status IN ('assigned', 'contacted', 'qualified', 'new')
