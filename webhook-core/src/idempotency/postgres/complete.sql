UPDATE {table} SET state = 'completed', token = NULL,
    expires_at = clock_timestamp() + $5::bigint * interval '1 millisecond',
    completed_at = clock_timestamp()
WHERE namespace = $1 AND event_id = $2 AND handler = $3 AND state = 'in_progress' AND token = $4
