# Day 3, exercise 4: ratio$1.yaml, the course contract with temperature's noise.ratio $1.
sed "s/noise: {ratio: 3,/noise: {ratio: $1,/" "$CONTRACT" > "ratio$1.yaml"
