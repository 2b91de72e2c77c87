-- Day 13, exercise 3 (a solution): the share of each sensor's rejects that are LATE_EVENT.
-- A reject may have several reasons: it counts as late when LATE_EVENT is one of them.
SELECT sensor_id,
       count(*)                                                        AS rejects,
       count_if(array_contains(reasons, 'LATE_EVENT'))                 AS late,
       round(count_if(array_contains(reasons, 'LATE_EVENT')) / count(*), 3) AS late_share
FROM sensor_rejects
WHERE sensor_id IS NOT NULL
GROUP BY sensor_id
ORDER BY late_share DESC, sensor_id
