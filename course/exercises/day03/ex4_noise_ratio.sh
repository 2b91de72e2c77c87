# Day 3, exercise 4: write ratio$1.yaml, a copy of the course contract in which temperature's
# noise.ratio is $1 (the check runs this script with 2 and with 5). Replace the TODO line.
TODO
