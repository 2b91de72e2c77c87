"""Day 19: where the time goes (course/week4.md), against bench/README.md's tables and callgrind."""
import collections
import re
import subprocess

from checks import ROOT
from testenv import CONTRACT

BENCH = (ROOT / "bench" / "README.md").read_text()


def test_1_what_is_left_and_the_floor(answer):
    flink = BENCH[BENCH.index("## `make bench-flink`"):BENCH.index("## `make bench-spark`")]
    rows = [m.group(1).strip() for m in re.finditer(r"^\|\s*(?:&nbsp;|\s)*([^|]+)\|", flink, re.M)]
    left = answer("day19", "what_is_left")
    chosen = [row for row in rows if row.lower().startswith(left)]
    assert len(chosen) == 1 and "Beam's transport" in chosen[0], (left, rows)
    assert "PyFlink floor" in flink and answer("day19", "why_floor") == "b"


def test_2_a_micro_batchs_fixed_cost(answer):
    assert "A micro-batch costs about 5 s whatever its size" in " ".join(BENCH.split())
    assert answer("day19", "micro_batch") == "b"


def instructions(dq_bin, events, out="/dev/null", contract=CONTRACT) -> int:
    run = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", dq_bin, "check", "-q",
                          "-c", contract, "-i", events, "--clean", "/dev/null", "--now", "2026-01-02T00:00:00Z"],
                         capture_output=True, text=True, check=True)
    return int(re.search(r"Collected : (\d+)", run.stderr).group(1))


def ten_thousand_events(dq_bin, folder):
    events = folder / "mine.ndjson"
    events.write_bytes(subprocess.run([dq_bin, "gen", "--count", "10000", "--seed", "7", "--start",
                                       "2026-01-01T00:00:00Z", "-q"], capture_output=True, check=True).stdout)
    return events


def test_3_where_to_spend_a_week(answer):
    spark = BENCH[BENCH.index("## `make bench-spark`"):]
    shares = {m.group(1).strip(): float(m.group(2)) for m in
              re.finditer(r"^\|\s+(?:&nbsp;)*([A-Za-z][^|]*?)\s*\| ([\d.]+) % \|", spark, re.M)}
    largest = max(shares, key=shares.get)
    assert largest.startswith("computing the verdicts"), shares
    assert answer("day19", "spark_week") == "b"


def test_4_instructions_per_event(dq_bin, script, tmp_path, answer):
    printed = int((script("day19/ex4_instructions.sh") / "stdout.txt").read_text().strip())
    events, empty = ten_thousand_events(dq_bin, tmp_path), tmp_path / "none.ndjson"
    empty.write_bytes(b"")
    per_event = (instructions(dq_bin, events) - instructions(dq_bin, empty)) / 10_000
    assert abs(printed - per_event) <= 0.01 * per_event, (printed, per_event)
    assert answer("day19", "why_empty_run") == "b"


def test_5_where_the_instructions_go(dq_bin, tmp_path, answer):
    instructions(dq_bin, ten_thousand_events(dq_bin, tmp_path), tmp_path / "check.out")
    listing = subprocess.run(["callgrind_annotate", "--inclusive=no", "--auto=no", "--threshold=100",
                              tmp_path / "check.out"], capture_output=True, text=True, check=True).stdout
    per_file, reading, printing = collections.Counter(), 0, 0
    for m in re.finditer(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(?:\S*/)?src/([\w.]+):(\w+)", listing, re.M):
        n, file, function = int(m.group(1).replace(",", "")), m.group(2), m.group(3)
        per_file[file] += n
        if file == "num.c":
            reading += n * (function.startswith("parse_") or function == "dq_event_scan")  # the parser, inlined
            printing += n * function.startswith("dq_num_write")
    share = 100 * per_file["num.c"] / sum(per_file.values())
    print(f"  per file: {per_file.most_common(4)}; num.c {share:.1f} % (reading {reading:,}, printing {printing:,})")
    assert answer("day19", "top_file") == per_file.most_common(1)[0][0]
    assert abs(float(answer("day19", "numbers_share")) - share) <= 2, share
    assert answer("day19", "numbers_mostly") == ("reading" if reading > printing else "printing")


def test_6_what_the_anomaly_detector_costs(dq_bin, script, tmp_path, answer):
    printed = int((script("day19/ex6_anomaly_cost.sh") / "stdout.txt").read_text().strip())
    events, empty = ten_thousand_events(dq_bin, tmp_path), tmp_path / "none.ndjson"
    empty.write_bytes(b"")
    text = CONTRACT.read_text()
    cut = tmp_path / "no_anomaly.yaml"
    cut.write_text(text[:text.index("\nanomaly:") + 1])
    full = instructions(dq_bin, events)
    cost = (full - instructions(dq_bin, events, contract=cut)) / 10_000
    per_event = (full - instructions(dq_bin, empty)) / 10_000
    print(f"  the anomaly section: {cost:.0f} of {per_event:.0f} instructions per event")
    assert abs(printed - cost) <= 0.02 * cost, (printed, cost)
    assert abs(int(answer("day19", "anomaly_share")) - 100 * cost / per_event) <= 1, 100 * cost / per_event
