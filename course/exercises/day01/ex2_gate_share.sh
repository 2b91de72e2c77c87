# Day 1, exercise 2: print two numbers on one line: how many events dq gate has checked since
# it started, and the share of them it rejected (0 to 1). Its Prometheus endpoint,
# http://127.0.0.1:9464/metrics (curl -s), counts them in dq_events_total by verdict; awk
# can add them up. Replace the TODO line.
TODO
