# Day 3, exercise 2: write my.yaml, a copy of the course contract ("$CONTRACT") in which
# temperature's onOutOfRange is cap instead of reject. Copy and edit it, or one sed command.
# Replace the TODO line.
TODO
