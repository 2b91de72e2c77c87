# Day 20, exercise 6 (a solution): three equalities, each from two independent sources: the
# summary's counts (what dq check says it did) against the files' lines (what it wrote).
input=$1 clean=$2 rejects=$3 summary=$4
field() { python3 -c "import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$summary" "$1"; }
lines() { wc -l < "$1" | tr -d ' '; }
events=$(field events) kept=$(( $(field pass) + $(field fixed) )) rejected=$(field reject)
problems=""
[ "$events" -eq "$(lines "$input")" ] || problems="$problems events $events, input lines $(lines "$input");"
[ "$kept" -eq "$(lines "$clean")" ] || problems="$problems pass+fixed $kept, clean lines $(lines "$clean");"
[ "$rejected" -eq "$(lines "$rejects")" ] || problems="$problems reject $rejected, rejects lines $(lines "$rejects");"
if [ -z "$problems" ]; then echo OK; else echo "MISMATCH:$problems"; fi
