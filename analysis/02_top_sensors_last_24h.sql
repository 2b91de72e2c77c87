-- The 10 sensors with the most clean readings in the 24 hours before ${dq.as_of}
-- (`make analyze AS_OF=...`; default: now). Ties are broken by sensor id.
SELECT sensor_id, count(*) AS readings
FROM sensor_data
WHERE ts >  TIMESTAMP '${dq.as_of}' - INTERVAL 24 HOURS
  AND ts <= TIMESTAMP '${dq.as_of}'
GROUP BY sensor_id
ORDER BY readings DESC, sensor_id
LIMIT 10
