# Day 16, exercise 2: three forests, the two of the default grid and 300 trees of 1,024
# samples; --tracking-uri '' trains without MLflow, the summary is the last line on stdout.
"$DQ" gen --count 30000 --seed 31 --start 2026-11-01T00:00:00Z --defects noise=0.0005 --truth truth.csv -q > history.ndjson
"$PYTHON_ML" "$ROOT/ml/train.py" --history history.ndjson --truth truth.csv --tracking-uri '' \
    --grid 100x256,200x512,300x1024 --out model.dqm | tail -1 > summary.json
