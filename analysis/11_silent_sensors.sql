-- Data-quality analyst: sensors gone silent. Every sensor whose newest clean reading is
-- more than 15 minutes before ${dq.as_of}, with when it was last heard and how long ago,
-- longest silence first.
SELECT sensor_id,
       max(ts)                                                            AS last_reading,
       (unix_millis(TIMESTAMP '${dq.as_of}') - unix_millis(max(ts))) / 60000 AS minutes_silent
FROM sensor_data
WHERE ts <= TIMESTAMP '${dq.as_of}'
GROUP BY sensor_id
HAVING max(ts) < TIMESTAMP '${dq.as_of}' - INTERVAL 15 MINUTES
ORDER BY minutes_silent DESC, sensor_id
