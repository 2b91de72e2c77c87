-- Day 13, exercise 2 (a solution): 08_sessions.sql split at 5 minutes instead of 15. A new
-- session starts after a silence of more than 5
-- minutes. Per session: first and last reading and how many there are.
WITH marked AS (
  SELECT sensor_id, ts,
         CASE WHEN LAG(ts) OVER w IS NULL
                OR unix_millis(ts) - unix_millis(LAG(ts) OVER w) > 5 * 60 * 1000 THEN 1 ELSE 0 END AS starts
  FROM sensor_data
  WINDOW w AS (PARTITION BY sensor_id ORDER BY ts)
),
numbered AS (
  SELECT *, SUM(starts) OVER (PARTITION BY sensor_id ORDER BY ts
                              ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS session
  FROM marked
)
SELECT sensor_id, session, min(ts) AS started, max(ts) AS ended, count(*) AS readings,
       (unix_millis(max(ts)) - unix_millis(min(ts))) / 1000 AS seconds
FROM numbered
GROUP BY sensor_id, session
ORDER BY sensor_id, session
