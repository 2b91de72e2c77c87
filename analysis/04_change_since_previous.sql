-- Every reading with the change since the same sensor's previous reading (LAG): the
-- seconds between them and the temperature and humidity differences. The first reading
-- of a sensor has no previous one (NULL).
SELECT sensor_id, ts, temperature,
       unix_millis(ts) / 1000 - unix_millis(LAG(ts) OVER w) / 1000 AS seconds_since_previous,
       round(temperature - LAG(temperature) OVER w, 3)         AS temperature_change,
       round(humidity - LAG(humidity) OVER w, 3)               AS humidity_change
FROM sensor_data
WINDOW w AS (PARTITION BY sensor_id ORDER BY ts)
ORDER BY sensor_id, ts
