-- Hourly averages over all sensors, with how many sensors reported in the hour.
SELECT date_trunc('HOUR', ts)     AS hour,
       count(*)                   AS readings,
       count(DISTINCT sensor_id)  AS sensors,
       round(avg(temperature), 3) AS avg_temperature,
       round(avg(humidity), 3)    AS avg_humidity
FROM sensor_data
GROUP BY date_trunc('HOUR', ts)
ORDER BY hour
