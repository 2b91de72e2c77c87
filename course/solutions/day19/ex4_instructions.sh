# Day 19, exercise 4 (a solution): two callgrind runs, the same command on 10,000 events and on
# none; their difference over 10,000.
"$DQ" gen --count 10000 --seed 7 --start 2026-01-01T00:00:00Z -q > events.ndjson
: > empty.ndjson
collected() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$DQ" check -q -c "$CONTRACT" -i "$1" \
        --clean /dev/null --now 2026-01-02T00:00:00Z 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
echo $(( ($(collected events.ndjson) - $(collected empty.ndjson)) / 10000 ))
