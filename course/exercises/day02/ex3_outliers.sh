# Day 2, exercise 3: 10,000 readings with 5 % outliers and no other defect, the ground truth
# in truth.csv. Replace TODO with the --defects value (docs/generator.md).
"$DQ" gen --count 10000 --seed 7 --start 2026-01-01T00:00:00Z --truth truth.csv -q --defects TODO > events.ndjson
