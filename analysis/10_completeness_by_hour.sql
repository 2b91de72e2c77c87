-- Data-quality analyst: completeness by hour. Of every reading with a valid event time
-- (clean rows and rejects), the share that arrived with every required field: libdq marks
-- a missing one MISSING_FIELD, whether it imputed the value (the row is clean) or not
-- (the row is a reject). Also the share rejected in that hour.
WITH arrivals AS (
  SELECT ts, coalesce(array_contains(dq_reasons, 'MISSING_FIELD'), false) AS incomplete, false AS rejected
  FROM sensor_data
  UNION ALL
  SELECT ts, array_contains(reasons, 'MISSING_FIELD'), true
  FROM sensor_rejects
  WHERE ts IS NOT NULL
)
SELECT date_trunc('HOUR', ts)                    AS hour,
       count(*)                                  AS readings,
       round(1 - avg(int(incomplete)), 4)        AS completeness,
       round(avg(int(rejected)), 4)              AS rejected_share
FROM arrivals
GROUP BY date_trunc('HOUR', ts)
ORDER BY hour
