-- Sensors with more than 5 % invalid temperatures: readings whose temperature libdq
-- rejected (a finding on `temperature` with action `reject` in the stored verdict) among
-- all readings of the sensor (clean rows plus rejects that name the sensor).
WITH rejected AS (
  SELECT sensor_id,
         exists(from_json(dq_annotation,
                          'STRUCT<findings: ARRAY<STRUCT<field: STRING, action: STRING>>>').findings,
                f -> f.field = 'temperature' AND f.action = 'reject') AS bad_temperature
  FROM sensor_rejects
  WHERE sensor_id IS NOT NULL
),
readings AS (
  SELECT sensor_id, false AS bad_temperature FROM sensor_data
  UNION ALL
  SELECT sensor_id, bad_temperature FROM rejected
)
SELECT sensor_id,
       count(*)                                  AS readings,
       count_if(bad_temperature)                 AS invalid_temperatures,
       round(100 * avg(int(bad_temperature)), 2) AS invalid_percent
FROM readings
GROUP BY sensor_id
HAVING avg(int(bad_temperature)) > 0.05
ORDER BY invalid_percent DESC, sensor_id
