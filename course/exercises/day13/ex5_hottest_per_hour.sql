-- Day 13, exercise 5: the three hottest sensors of each hour, from sensor_data (sensor_id, ts,
-- temperature, humidity): columns hour (date_trunc('HOUR', ts)), sensor_id, avg_temperature
-- (the sensor's average temperature in that hour) and rank (1 = the hottest; ties in the
-- average broken by sensor_id), three rows per hour, ordered by hour, then rank. Aggregate in
-- a CTE, then ROW_NUMBER() OVER (PARTITION BY hour ORDER BY ...) in a second one, and keep
-- rank <= 3. Replace the TODO line.
TODO
