# Day 3, exercise 3: write absolute.yaml, a copy of the course contract whose per-sensor rules
# are absolute: temperature's spike {maxRatePerSecond: 0.5}, humidity's {maxRatePerSecond: 5.0}
# (neither with minChange), late {tolerance: 1m}, gap {after: 5m}; remove temperature's bias
# rule (it needs the relative spike rule's steps). Replace the TODO line.
TODO
