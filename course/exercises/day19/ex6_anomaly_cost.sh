# Day 19, exercise 6: print one number: the instructions per event the anomaly section of the
# contract costs. Write a copy of "$CONTRACT" without its anomaly: block (the last of the
# file: everything from the line that starts with "anomaly:"), then run callgrind as in
# exercise 4 with each contract over the same 10,000 events (`"$DQ" gen --count 10000 --seed 7
# --start 2026-01-01T00:00:00Z -q`, --clean /dev/null, --now 2026-01-02T00:00:00Z) and print
# (with - without) / 10000. The start-up is the same in both runs: no empty run is needed.
# Replace the TODO line.
TODO
