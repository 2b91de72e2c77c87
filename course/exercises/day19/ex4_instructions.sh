# Day 19, exercise 4: print one number: the instructions dq check executes per event with the
# course contract ("$CONTRACT") on `"$DQ" gen --count 10000 --seed 7 --start
# 2026-01-01T00:00:00Z -q` (write them to events.ndjson first), with --clean /dev/null and
# --now 2026-01-02T00:00:00Z. valgrind --tool=callgrind counts instructions ("Collected" on its
# stderr); subtract a run on an empty file (start-up, loading the contract) and divide by the
# events. A figure that does not move with the machine's load, unlike a time. Replace the
# TODO line.
TODO
