# Day 13, exercise 1: an hour at 30 %, then a burst of four readings at 70 % ten seconds
# apart. Each reading weighs the time until the next; the last weighs nothing:
#   time-weighted = (30 x 3600 + 70 x 10 x 3) / 3630 = 30.331; plain = (30 + 4 x 70) / 5 = 62.
cat > readings.ndjson <<'END'
{"sensor_id": "sensor_1", "ts": "2026-11-26T10:00:00Z", "humidity": 30}
{"sensor_id": "sensor_1", "ts": "2026-11-26T11:00:00Z", "humidity": 70}
{"sensor_id": "sensor_1", "ts": "2026-11-26T11:00:10Z", "humidity": 70}
{"sensor_id": "sensor_1", "ts": "2026-11-26T11:00:20Z", "humidity": 70}
{"sensor_id": "sensor_1", "ts": "2026-11-26T11:00:30Z", "humidity": 70}
END
