# Day 3, exercise 3: write absolute.yaml, a copy of the course contract whose per-sensor rules
# are absolute: temperature's spike {maxRatePerSecond: 0.5}, humidity's {maxRatePerSecond: 5.0}
# (neither with minChange), late {tolerance: 1m}, gap {after: 5m}. Replace the TODO line.
TODO
