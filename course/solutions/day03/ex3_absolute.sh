# Day 3, exercise 3: absolute.yaml, the course contract with its per-sensor rules absolute
# (and without bias, which needs the relative spike rule's steps).
sed -e 's/spike: {deviations: 10, minChange: 1,/spike: {maxRatePerSecond: 0.5,/' \
    -e 's/spike: {deviations: 10, minChange: 3,/spike: {maxRatePerSecond: 5.0,/' -e '/^ *bias: /d' \
    -e 's/tolerance: 3 intervals/tolerance: 1m/' -e 's/after: 10 intervals/after: 5m/' "$CONTRACT" > absolute.yaml
