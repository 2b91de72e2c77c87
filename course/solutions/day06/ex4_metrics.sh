# Day 6, exercise 4 (a solution): completeness = 1 - events with a MISSING_FIELD finding /
# events, validity = 1 - rejected / events (the summary counts each reason once per event).
"$DQ" check -q -c "$CONTRACT" -i "$1" --now 2026-11-26T00:00:00Z --clean /dev/null --summary summary.json
python3 -c '
import json
s = json.load(open("summary.json"))
missing, rejected, events = s["reasons"].get("MISSING_FIELD", 0), s["reject"], s["events"]
print(f"{1 - missing / events:.4f} {1 - rejected / events:.4f}")'
