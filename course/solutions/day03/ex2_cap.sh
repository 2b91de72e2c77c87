# Day 3, exercise 2: my.yaml, the course contract with temperature capped when out of range:
# sed's range /from/,/to/ limits the change to temperature's block (humidity's stays reject).
sed '/- name: temperature/,/onOutOfRange/ s/onOutOfRange: reject/onOutOfRange: cap/' "$CONTRACT" > my.yaml
