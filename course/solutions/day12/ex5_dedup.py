"""Day 12, exercise 5 (a solution): at least once, read exactly once.

first_copies(records) gets dead-letter records as (headers, value) pairs, in the order they
were read (headers: a list of (name, bytes) pairs, as confluent-kafka's Message.headers()
gives them) and returns those that are the first copy of their dead letter, in order: a
dead letter is identified by its source, the headers dq.source.topic, dq.source.partition
and dq.source.offset together. Replace the placeholder.
"""


def first_copies(records: list[tuple[list[tuple[str, bytes]], bytes]]) -> list[tuple[list[tuple[str, bytes]], bytes]]:
    seen, kept = set(), []
    for headers, value in records:
        h = dict(headers)
        source = (h["dq.source.topic"], h["dq.source.partition"], h["dq.source.offset"])
        if source not in seen:  # a repeat of a replayed batch carries its original's source
            seen.add(source)
            kept.append((headers, value))
    return kept
