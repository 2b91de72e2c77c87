# Day 9, exercise 4 (a solution): the age limit in the sensor's own intervals, right at any
# cadence (5 minutes is 30 readings at 10 s, and not even one at 6 minutes).
sed 's/maxAge: 5m}/maxAge: 3 intervals}/' "$CONTRACT" > my.yaml
