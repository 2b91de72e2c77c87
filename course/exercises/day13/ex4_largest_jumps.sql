-- Day 13, exercise 4: each sensor's jumps between consecutive readings, from sensor_data
-- (sensor_id, ts, temperature, humidity): one row per sensor with columns sensor_id,
-- largest_jump (the largest absolute change of temperature from the sensor's previous reading,
-- by ts) and jumps_over_10 (how many changes exceed 10 °C), ordered by largest_jump
-- descending, then sensor_id. LAG(temperature) OVER (PARTITION BY sensor_id ORDER BY ts)
-- gives the previous reading; a sensor's first reading has none (NULL). Replace the TODO line.
TODO
