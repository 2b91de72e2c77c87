# Day 15, exercise 4: write budget$1.yaml, a copy of the course contract whose online
# detector allows $1 alarms per sensor and day (the check runs this script with 24 and 96).
# Replace the TODO line.
TODO
