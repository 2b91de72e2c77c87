-- Day 13, exercise 2: analysis/08_sessions.sql with sessions split at 5 minutes of silence
-- instead of 15: one row per sensor and session (sensor_id, session, started, ended,
-- readings). Copy 08_sessions.sql here and change it. `make exercise DAY=13` runs it over the
-- accepted readings of a stream with gaps and counts each sensor's sessions against the gaps
-- in its truth. Replace the TODO line.
TODO
