# Day 2, exercise 3: 10,000 readings with 5 % outliers and no other defect, the ground truth
# in truth.csv: 'none' turns every rate to 0, then outlier gets its own.
"$DQ" gen --count 10000 --seed 7 --start 2026-01-01T00:00:00Z --truth truth.csv -q --defects none,outlier=0.05 > events.ndjson
