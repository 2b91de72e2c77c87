-- Time-weighted average humidity per sensor: each reading counts for as long as it was
-- the latest one (until the sensor's next reading), so a burst of readings does not
-- outweigh a quiet hour. The last reading has no known duration and weighs nothing;
-- sensors with a single reading have no such average (NULL).
WITH held AS (
  SELECT sensor_id, humidity,
         (unix_millis(LEAD(ts) OVER (PARTITION BY sensor_id ORDER BY ts)) - unix_millis(ts)) / 1000 AS seconds
  FROM sensor_data
  WHERE humidity IS NOT NULL
)
SELECT sensor_id,
       round(sum(humidity * seconds) / sum(seconds), 3) AS time_weighted_humidity,
       round(avg(humidity), 3)                         AS plain_average_humidity,
       sum(seconds)                                    AS seconds_covered
FROM held
GROUP BY sensor_id
ORDER BY sensor_id
