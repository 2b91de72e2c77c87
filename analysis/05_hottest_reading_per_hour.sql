-- The hottest reading of each sensor in each hour, ranked with a CTE. On a tie the
-- earlier reading wins.
WITH ranked AS (
  SELECT sensor_id, date_trunc('HOUR', ts) AS hour, ts, temperature,
         ROW_NUMBER() OVER (PARTITION BY sensor_id, date_trunc('HOUR', ts)
                            ORDER BY temperature DESC, ts) AS rank
  FROM sensor_data
  WHERE temperature IS NOT NULL
)
SELECT sensor_id, hour, ts, temperature
FROM ranked
WHERE rank = 1
ORDER BY sensor_id, hour
