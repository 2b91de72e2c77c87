# Day 16, exercise 2: train on a noisy fleet with one more grid point, 300 trees of 1,024
# samples, besides the default two, without MLflow, and keep train.py's summary (its last
# line on stdout) in summary.json. The check runs this script in a fresh folder, with $DQ,
# $CONTRACT, $ROOT (the checkout) and $PYTHON_ML (the ml venv's python) set.
# Replace the TODO line.
"$DQ" gen --count 30000 --seed 31 --start 2026-11-01T00:00:00Z --defects noise=0.0005 --truth truth.csv -q > history.ndjson
TODO
