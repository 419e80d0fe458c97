INSERT INTO {table} AS t
    (namespace, event_id, handler, event_type, state, token, expires_at, attempts, first_seen_at)
SELECT $1, $2, $3, $4, 'in_progress', $5,
    clock_timestamp() + $6::bigint * interval '1 millisecond', 1, clock_timestamp()
{only_if}
ON CONFLICT (namespace, event_id, handler) DO UPDATE SET
    event_type = EXCLUDED.event_type,
    state = 'in_progress',
    token = EXCLUDED.token,
    expires_at = EXCLUDED.expires_at,
    attempts = CASE WHEN t.state = 'completed' THEN 1
        ELSE LEAST(t.attempts, 2147483646) + 1 END,
    first_seen_at = CASE WHEN t.state = 'completed' THEN EXCLUDED.first_seen_at ELSE t.first_seen_at END,
    completed_at = NULL
WHERE (t.state = 'in_progress' AND t.token IS NULL)
    OR (t.expires_at <= clock_timestamp()
        AND (t.state = 'completed' OR t.event_type = EXCLUDED.event_type))
RETURNING t.attempts
