-- Day 13, exercise 5 (a solution): a window function runs after GROUP BY, so the ranking
-- can sit beside the aggregate in one SELECT; its filter cannot (WHERE and HAVING come
-- before windows), hence the second CTE. ROW_NUMBER gives each row its own number: exactly
-- three per hour, ties broken by the ORDER BY's last key.
WITH hourly AS (
  SELECT date_trunc('HOUR', ts) AS hour, sensor_id, avg(temperature) AS avg_temperature
  FROM sensor_data
  GROUP BY date_trunc('HOUR', ts), sensor_id
),
ranked AS (
  SELECT hour, sensor_id, avg_temperature,
         ROW_NUMBER() OVER (PARTITION BY hour ORDER BY avg_temperature DESC, sensor_id) AS rank
  FROM hourly
)
SELECT hour, sensor_id, avg_temperature, rank
FROM ranked
WHERE rank <= 3
ORDER BY hour, rank
