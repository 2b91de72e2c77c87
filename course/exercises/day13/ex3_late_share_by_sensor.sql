-- Day 13, exercise 3: the share of each sensor's rejects that are LATE_EVENT, from
-- sensor_rejects (day, sensor_id, ts, reasons ARRAY<STRING>, dq_annotation): one row per
-- sensor_id that has rejects (not NULL), with columns sensor_id, rejects, late, late_share
-- (late / rejects, rounded to 3 decimals), ordered by late_share descending, then sensor_id.
-- array_contains(reasons, 'LATE_EVENT') tells whether a reject is late. Replace the TODO line.
TODO
