# Day 5, exercise 2: write events.ndjson and truth.csv: 50,000 readings of 100 sensors every
# 10 s from 2026-01-01T00:00:00Z with gaps only, at a rate of 0.001, with --seed 3 ($DQ is
# the dq tool). The check runs the job's SilenceDetector over dq check's accepted readings
# and compares its silences with the truth's gaps. Replace the TODO line.
TODO
