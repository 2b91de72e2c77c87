-- Day 13, exercise 6 (a solution): gaps and islands. A running sum of "starts a run" is the
-- same number for every reading of one run and grows by one at each change.
WITH marked AS (
  SELECT sensor_id, ts,
         CASE WHEN temperature = LAG(temperature) OVER (PARTITION BY sensor_id ORDER BY ts) THEN 0 ELSE 1 END AS starts
  FROM sensor_data
),
numbered AS (
  SELECT sensor_id, SUM(starts) OVER (PARTITION BY sensor_id ORDER BY ts) AS run
  FROM marked
),
runs AS (
  SELECT sensor_id, run, count(*) AS readings
  FROM numbered
  GROUP BY sensor_id, run
)
SELECT sensor_id, max(readings) AS longest_run
FROM runs
GROUP BY sensor_id
ORDER BY longest_run DESC, sensor_id
