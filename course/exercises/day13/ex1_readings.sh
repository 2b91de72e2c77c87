# Day 13, exercise 1: write readings.ndjson, humidity readings of one sensor (one JSON object
# a line: {"sensor_id": "...", "ts": "2026-11-26T10:00:00Z", "humidity": 30}) whose
# time-weighted average (analysis/09_time_weighted_humidity.sql) differs from the plain
# average by at least 10 percentage points. Put your hand computation of the time-weighted
# average in answers.toml. Replace the TODO line (a here-document is easiest:
#   cat > readings.ndjson <<'END' ... END).
TODO
