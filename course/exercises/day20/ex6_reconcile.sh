# Day 20, exercise 6: ex6_reconcile.sh INPUT CLEAN REJECTS SUMMARY (one dq check run's files)
# prints OK when the summary's "events" is the input's line count, "pass" + "fixed" the clean
# file's and "reject" the rejects file's; else MISMATCH and what differs. wc -l counts lines;
# the summary is JSON: python3 -c 'import json,sys; ...' or grep -o reads a number from it.
# Replace the TODO line.
TODO
