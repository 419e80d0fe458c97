WITH typed AS (
    -- The event's type record ($8 is the pseudo-handler): created, or replacing one that no
    -- longer stands (released, completed past its retention, a lease of this type that expired).
    INSERT INTO {table} AS t
        (namespace, event_id, handler, event_type, state, token, expires_at, attempts,
         first_seen_at, completed_at)
    VALUES ($1, $2, $8, $4, 'completed', NULL,
        clock_timestamp() + $7::bigint * interval '1 millisecond', 1, clock_timestamp(),
        clock_timestamp())
    ON CONFLICT (namespace, event_id, handler) DO UPDATE SET
        event_type = EXCLUDED.event_type,
        state = 'completed',
        token = NULL,
        expires_at = EXCLUDED.expires_at,
        attempts = 1,
        first_seen_at = EXCLUDED.first_seen_at,
        completed_at = EXCLUDED.completed_at
    WHERE (t.state = 'in_progress' AND t.token IS NULL)
        OR (t.expires_at <= clock_timestamp()
            AND (t.state = 'completed' OR t.event_type = EXCLUDED.event_type))
    RETURNING t.event_type
), recorded AS (
    -- Written just now, or standing already as the statement's snapshot saw it. NULL when a
    -- concurrent first claim wrote it after that snapshot: the caller runs the statement again.
    SELECT COALESCE(
        (SELECT event_type FROM typed),
        (SELECT event_type FROM {table}
         WHERE namespace = $1 AND event_id = $2 AND handler = $8
             AND NOT ((state = 'in_progress' AND token IS NULL)
                 OR (expires_at <= clock_timestamp()
                     AND (state = 'completed' OR event_type = $4))))
    ) AS event_type
), claimed AS (
    -- claim.sql, for a type record of this event's type only.
    {claim}
)
SELECT (SELECT event_type FROM recorded), (SELECT attempts FROM claimed)
