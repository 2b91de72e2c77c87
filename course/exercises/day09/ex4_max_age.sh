# Day 9, exercise 4: write my.yaml, a copy of the course contract ("$CONTRACT") whose
# last-good imputation (temperature and humidity) accepts a value up to 3 of the sensor's
# intervals old instead of 5 minutes (docs/contract.md: spans in the sensor's intervals).
# One sed command will do. Replace the TODO line.
TODO
