-- Day 13, exercise 6: each sensor's longest run of consecutive readings (by ts) with the same
-- temperature, from sensor_data (sensor_id, ts, temperature, humidity): columns sensor_id and
-- longest_run (readings in the run), ordered by longest_run descending, then sensor_id.
-- A CTE marks each reading that starts a run (CASE WHEN temperature = LAG(temperature) OVER
-- (...) THEN 0 ELSE 1 END: a first reading's LAG is NULL, so it starts one), a second numbers
-- the runs with SUM(start) OVER (PARTITION BY sensor_id ORDER BY ts), a third counts each
-- run's readings. Replace the TODO line.
TODO
