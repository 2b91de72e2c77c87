# Day 15, exercise 4: budget$1.yaml, the course contract with anomaly.alarmsPerDay $1.
sed "s/^  alarmsPerDay: [0-9.]*/  alarmsPerDay: $1/" "$CONTRACT" > "budget$1.yaml"
