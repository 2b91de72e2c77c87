-- Per sensor: how many clean readings, and the average, minimum and maximum of each reading.
SELECT sensor_id,
       count(*)                   AS readings,
       round(avg(temperature), 3) AS avg_temperature,
       min(temperature)           AS min_temperature,
       max(temperature)           AS max_temperature,
       round(avg(humidity), 3)    AS avg_humidity,
       min(humidity)              AS min_humidity,
       max(humidity)              AS max_humidity
FROM sensor_data
GROUP BY sensor_id
ORDER BY sensor_id
