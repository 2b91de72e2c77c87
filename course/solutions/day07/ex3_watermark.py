"""Day 7, exercise 3 (a solution): which readings a stream leaves out of its windows.

The quality report's --stream mode counts each hour's readings in a window that a 10-minute
watermark closes. Spark reads the topic in micro-batches of at most --max-offsets records;
after each micro-batch the watermark is the newest event time seen so far minus 10 minutes.
A reading is left out when its window's end is at or before the watermark as it stood when
the previous micro-batch began: Spark 3.5 judges late rows against the watermark one
micro-batch older than the newest, so that a stream with several stateful steps (this one
has two: each sensor's libdq state, then the windows) drops the same rows in all of them.

left_out(times_ms, batch) gets the event times (epoch ms) of a one-partition topic's
readings in offset order and the micro-batch size, and returns how many readings the
streamed windows leave out. Replace the placeholder. `make exercise DAY=7` streams a topic
of late readings on the stack (about 2 minutes) and compares.
"""
WATERMARK_MS = 10 * 60 * 1000  # spark_data_quality_check.py's WATERMARK
WINDOW_MS = 60 * 60 * 1000  # hourly windows, aligned to the hour


def left_out(times_ms: list[int], batch: int) -> int:
    watermarks, newest, dropped = [0, 0], 0, 0  # none yet before the first two micro-batches
    for start in range(0, len(times_ms), batch):
        rows = times_ms[start:start + batch]
        dropped += sum((t // WINDOW_MS + 1) * WINDOW_MS <= watermarks[-2] for t in rows)
        newest = max(newest, *rows)
        watermarks.append(newest - WATERMARK_MS)
    return dropped
