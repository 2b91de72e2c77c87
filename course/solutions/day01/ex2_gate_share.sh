# Day 1, exercise 2 (a solution): dq_events_total{verdict="..."} N, one line per verdict.
curl -fsS http://127.0.0.1:9464/metrics | awk '
    /^dq_events_total\{/ { all += $2; if ($1 ~ /verdict="reject"/) rejected += $2 }
    END { if (all == 0) exit 1; printf "%d %.4f\n", all, rejected / all }'
