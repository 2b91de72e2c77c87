# Day 19, exercise 6 (a solution): the contract cut before its anomaly block, two callgrind
# runs, their difference over 10,000.
"$DQ" gen --count 10000 --seed 7 --start 2026-01-01T00:00:00Z -q > events.ndjson
sed '/^anomaly:/,$d' "$CONTRACT" > no_anomaly.yaml
collected() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$DQ" check -q -c "$1" -i events.ndjson \
        --clean /dev/null --now 2026-01-02T00:00:00Z 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
echo $(( ($(collected "$CONTRACT") - $(collected no_anomaly.yaml)) / 10000 ))
