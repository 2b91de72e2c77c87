# Day 5, exercise 2: events.ndjson and truth.csv with gaps only ('none' sets every other
# defect's rate to 0). A gap silences a sensor for 41 readings: 420 s between two at 10 s.
"$DQ" gen --sensors 100 --count 50000 --interval 10s --seed 3 --start 2026-01-01T00:00:00Z \
    --defects none,gap=0.001 --truth truth.csv --quiet > events.ndjson
