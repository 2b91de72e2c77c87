-- Day 13, exercise 4 (a solution): LAG in a CTE (a window function cannot sit inside an
-- aggregate), then one group per sensor. The first reading's change is NULL: max() and
-- count_if() skip it.
WITH changes AS (
  SELECT sensor_id,
         abs(temperature - LAG(temperature) OVER (PARTITION BY sensor_id ORDER BY ts)) AS jump
  FROM sensor_data
)
SELECT sensor_id,
       max(jump)            AS largest_jump,
       count_if(jump > 10)  AS jumps_over_10
FROM changes
GROUP BY sensor_id
ORDER BY largest_jump DESC, sensor_id
