# Day 6, exercise 4: print the report's completeness and validity for the events file given as
# $1, to 4 decimals on one line ("0.9805 0.9174"), from dq check instead of Spark: run "$DQ"
# check with "$CONTRACT", --now 2026-11-26T00:00:00Z and --summary summary.json, then compute
# both from the summary (the job's definitions are in its module docstring). Replace the TODO
# line; python3 -c can read the JSON.
TODO
