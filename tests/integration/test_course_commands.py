"""The course as a learner runs it: every command of every day's shell blocks, as written, in
course order, on the live stack, each checked for what it makes and what the course says it
prints. Three changes only: the course's scratch paths under /tmp/ are the test's own folder,
the jobs over the live topic read its last 2 minutes rather than 10 (`--since`), and the
benchmarks run at a smaller EVENTS (their Makefile option; the figures are bench/README.md's):
the same code, a quarter of an hour less. Files the commands leave in the checkout (day 2's
events.ndjson, ...) are removed at the end. A command run by another test instead is in
ELSEWHERE, with that test; a command with no expectation here fails the test, so a new one
cannot go unchecked."""
import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT
import data

WEEKS = {p.name: p.read_text() for p in sorted((ROOT / "course").glob("week*.md"))}


def course_commands() -> list[tuple[int, str, str]]:
    """(day, command, its comment) of every ```sh block, continued lines joined."""
    commands = []
    for text in WEEKS.values():
        for block in re.finditer(r"```sh\n(.*?)```", text, re.S):
            day = int(text[:block.start()].rsplit("## Day ", 1)[1].split(":")[0])
            for line in block.group(1).replace("\\\n", " ").splitlines():
                command, comment = re.match(r"(.*?)(?:(?:^|\s)#(.*))?$", line).groups()
                if command.strip():
                    commands.append((day, " ".join(command.split()), " ".join((comment or "").split())))
    return commands


COMMANDS = course_commands()
DAY17_GATE = ("test_anomaly.py runs day 17's block as written: the stack's gate stopped, one with the model "
              "judging the live stream until Ctrl-C, the stack's gate started again")
ELSEWHERE = {
    "make test": "the command this suite runs under (.ci/run)",
    "make drills": "`pytest -k drill` of test_live_pipeline.py (part of this same suite), test_spark_jobs.py and "
                   "test_kafka_disk_full.py (their drills marked long: run by make drills only)",
    "make down SERVICE=dq-gate": DAY17_GATE,
    "build/dq gate -c contracts/sensor_readings.yaml --model models/sensor-anomaly.dqm "
    "--kafka-config .stack/kafka/validator.properties": DAY17_GATE,
    "make up SERVICE=dq-gate": DAY17_GATE,
}
BENCH_EVENTS = "20000"  # make bench's default: 1,000,000
SINCE = "2m"  # the course's --since 10m: 600,000 live readings per job


REPORTS = ROOT / "build" / "reports"
STARTED = time.time()


def written_now(path: Path) -> bool:
    """path was written since this module started (a report folder keeps earlier runs' files)."""
    stat = path.stat()
    return stat.st_mtime > STARTED and stat.st_size > 0


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def data_present(name: str) -> bool:
    """A data set `make data` installs here: already in data/, or in its local copy."""
    copy = data.local_copy()
    return (ROOT / "data" / name).is_dir() or bool(copy and (copy / name).is_dir())


def check_data(out: str, rc: int, sets: list[str]) -> None:
    """Each set installed (`ok`), or refused by name where it cannot be had; exit 0 when all are there."""
    assert rc == 0 or not all(map(data_present, sets)), out
    for name in sets:
        if data_present(name):
            assert re.search(rf"^ ok {name}: \d+ files", out, re.M), out
        else:  # no local copy, and the publisher cannot be reached from here: it says so, by name
            assert rc != 0 and re.search(rf"^FAIL {name}: ", out, re.M), out


def check_eval(out: str) -> None:
    """The figures day 18 quotes, for each data set present; the generator's rows always."""
    rows = {tuple(cells[:2]): cells[2:] for cells in ([c.strip() for c in line.strip().strip("|").split("|")]
                                                       for line in out.splitlines() if line.startswith("| "))}
    assert ("generator: all", "online-z") in rows, out
    # The sensor-fault rules: every fault at every cadence at least 0.9 both ways (docs/anomaly.md).
    faults = {key: cells for key, cells in rows.items() if key[0] in ("1s", "10s", "60s", "5m")}
    assert len(faults) == 4 * 5, out
    assert {key: cells for key, cells in faults.items() if min(float(cells[1]), float(cells[2])) < 0.9} == {}
    multi = ("Suthaharan multi_hop: rules + detector", "online-z")
    if (ROOT / "data" / "suthaharan").is_dir():  # "finds 87 % of the anomalies with no false alarm"
        assert round(float(rows[multi][1]), 2) == 0.87 and float(rows[multi][4]) == 0, rows[multi]
        forest = rows[multi[0], "isolation-forest"]  # "the forest flags 6.5 % of the normal readings"
        assert round(float(forest[4]), 1) == 6.5, forest
    else:
        assert "eval: no" in out and "suthaharan, skipped" in out, out
    skab = {key[1]: cells for key, cells in rows.items() if key[0].startswith("SKAB")}
    if (ROOT / "data" / "skab").is_dir():  # "On SKAB the forest has a 14 % false alarm rate"
        assert set(skab) == {"isolation-forest", "hotelling-t2"} and round(float(skab["isolation-forest"][4])) == 14
        # "F1 0.57 at 4.1 % false alarms" (day 18, docs/anomaly.md)
        assert round(float(skab["hotelling-t2"][2]), 2) == 0.57 and round(float(skab["hotelling-t2"][4]), 1) == 4.1
    else:
        assert not skab and "skab, skipped" in out, out


def check_analyze(out: str, queries: list[str]) -> dict[str, str]:
    """Each query printed with its row count, and its CSV written (build/reports/analysis) with
    a header and that many rows; the row counts by query number."""
    counts = dict(re.findall(r"^== (\d\d)_\w+\.sql: (\d+) rows", out, re.M))
    assert sorted(counts) == sorted(queries), out[-3000:]
    for csv in (REPORTS / "analysis").glob("*.csv"):
        if csv.name[:2] in counts:
            assert written_now(csv), csv
            with csv.open() as f:
                assert sum(1 for _ in f) == int(counts[csv.name[:2]]) + 1, csv
    return counts


def check_model_service(command: str) -> None:
    """Day 17: the service answers POST /score with the model day 16 wrote, then stops on Ctrl-C."""
    service = subprocess.Popen(["bash", "-c", command], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    try:
        info = None
        for _ in range(120):
            try:
                info = json.load(urllib.request.urlopen("http://127.0.0.1:8765/model", timeout=2))
                break
            except OSError:
                assert service.poll() is None, service.stdout.read()
                time.sleep(1)
        assert info and info["model"] == "sensor-anomaly.dqm", info
        body = json.dumps({"features": [[0.0] * len(info["features"])] * 2}).encode()
        request = urllib.request.Request("http://127.0.0.1:8765/score", body, {"Content-Type": "application/json"})
        scored = json.load(urllib.request.urlopen(request, timeout=10))
        assert len(scored["scores"]) == 2 and all(0 <= s <= 1 for s in scored["scores"]), scored
    finally:
        os.killpg(service.pid, signal.SIGINT)  # Ctrl-C, as a learner stops it
        service.wait(timeout=30)


FLINK_JOB_FINISHED = r"^Job with JobID [0-9a-f]{32} has finished\.$"
# What each command must do, by a text that only it holds: a regex its output (stdout and
# stderr) matches, or a function given (output, exit code, scratch folder) that asserts.
EXPECT = [
    ("make up", r"ok stack up in \d+ s"),
    ("make status # the same", r"live writer \(Flink\) .*job RUNNING"),
    ("make logs SERVICE=dq-gate", r"^== \.stack/logs/dq-gate\.log"),
    ("--truth truth.csv > events.ndjson",
     lambda out, rc, s: len(lines(ROOT / "events.ndjson")) == 10_000 and len(lines(ROOT / "truth.csv")) == 10_001),
    ("head -3 events.ndjson", lambda out, rc, s: len(json_lines("\n".join(out.splitlines()[:3]))) == 3
     and out.splitlines()[3] == "line,sensor_id,defect"),
    ("--defects none -q | head -3", lambda out, rc, s: len(json_lines(out)) == 3),
    ("make data SETS=intel_lab_raw", lambda out, rc, s: check_data(out, rc, ["intel_lab_raw"]) or True),
    ("--replay data/intel_lab_raw/Node04.txt",
     lambda out, rc, s: ({e["sensor_id"] for e in json_lines(out)} == {"sensor_4"} and len(out.splitlines()) == 10)
     if data_present("intel_lab_raw") else "(the course's data sets: make data" in out),
    ("build/dq check -c contracts/sensor_readings.yaml -i events.ndjson",
     lambda out, rc, s: "dq check: 10000 events" in out
     and sum(len(lines(ROOT / f)) for f in ("clean.ndjson", "rejects.ndjson")) == 10_000),
    ("build/dq score --truth truth.csv", r"^spike +SPIKE +\d+ +\d+ +0\.\d+"),
    ("JOB=flink_stream_processing", FLINK_JOB_FINISHED),
    ("JOB=flink_data_quality", FLINK_JOB_FINISHED),
    ("> /tmp/events.ndjson", lambda out, rc, s: len(lines(s / "events.ndjson")) == 20_000),
    ("spark_data_quality_check ARGS=\"--input /tmp/events.ndjson", r"libdq findings +Spark native"),
    ("ls build/reports/spark_quality/", lambda out, rc, s: {"checks.csv", "sensors.csv"} <= set(out.split())),
    ("--stream --bounded --since 10m",
     lambda out, rc, s: written_now(REPORTS / "spark_quality" / "stream_windows.ndjson")),
    ("spark_data_cleaning ARGS=\"--input /tmp/events.ndjson\"",
     r"^20000 events from /\S+/events\.ndjson: \d+ clean, \d+ rejected"),
    ("--impute last_good --out /tmp/lg", lambda out, rc, s: {"clean", "rejects"} <= set(os.listdir(s / "lg"))),
    ("--impute median --out /tmp/median", lambda out, rc, s: {"clean", "rejects"} <= set(os.listdir(s / "median"))),
    ("JOB=flink_to_cassandra", FLINK_JOB_FINISHED),
    ("make status # the live writer", r"^  live writer \(Flink\) +[\d,]+ +[\d,]+ events \(~\d+ s\); job RUNNING$"),
    ("JOB=spark_to_cassandra", r"read [\d,]+ events of sensor-topic in \d+ micro-batches"),
    ("make analyze # all twelve",
     lambda out, rc, s: check_analyze(out, [q.name[:2] for q in (ROOT / "analysis").glob("*.sql")]) is not None),
    ("make analyze QUERY=08", lambda out, rc, s: check_analyze(out, ["08"]) is not None),
    # The ten busiest sensors of the day up to a minute ago: a fresh stack has rows from its first minute on.
    ("make analyze QUERY=02 AS_OF", lambda out, rc, s: check_analyze(out, ["02"]) == {"02": "10"}),
    ("make train # 100k", r"does not beat the online detector .*: nothing registered"),
    ("make train DEFECTS=noise=0.0005",
     lambda out, rc, s: re.search(r"beats the online detector .*: champion, registered as sensor-anomaly-iforest",
                                  out) and (ROOT / "models" / "sensor-anomaly.dqm").stat().st_size > 0),
    ("make model-service", "service"),
    ("make bench-anomaly", r"\| libdq engine: every event validated, cleaned and scored \|"),
    ("make data # the public", lambda out, rc, s: check_data(out, rc, ["intel_lab_raw", "suthaharan", "skab"]) or True),
    ("make eval-anomaly", lambda out, rc, s: check_eval(out) or True),
    ("make bench # dq check", r"^instructions per event \(callgrind, [\d,]+ events\): stateless contract [\d,]+, "
                              r"full course contract [\d,]+"),
    ("make bench-flink", r"^\| Flink / dq gate +\| +0\.\d+ \|"),
    ("make bench-spark", r"^\| Spark / dq gate +\| +0\.\d+ \|"),
]
FAILS_WITHOUT_DATA = ("make data", "--replay data/")


def expectation(day: int, command: str, comment: str):
    """EXPECT's one entry for a command (its comment tells apart two runs of one command)."""
    found = [want for key, want in EXPECT if key in f"{command} # {comment}"]
    assert len(found) == 1, f"day {day}: {len(found)} expectations for {command!r}: give it one in EXPECT"
    return found[0]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """The course's /tmp/ for this run; the checkout as it was, afterwards."""
    def untracked():
        return set(subprocess.run(["git", "ls-files", "--others", "--exclude-standard"], cwd=ROOT,
                                  capture_output=True, text=True, check=True).stdout.split())
    before = untracked()
    yield tmp_path_factory.mktemp("course")
    for name in untracked() - before:
        (ROOT / name).unlink()


def test_every_command_is_run_here_or_elsewhere():
    assert set(ELSEWHERE) <= {c for _, c, _ in COMMANDS}, set(ELSEWHERE) - {c for _, c, _ in COMMANDS}
    assert len(COMMANDS) > 30


# The benchmarks take a smaller EVENTS. Day 19's three run 8-9 minutes on a slow 2-core machine
# even so (their fixed costs: JVM jobs, a million sensors, a build of their own): make test-long.
BENCHMARKS, LONG = r"make bench(-anomaly|-flink|-spark)?$", r"make bench(-flink|-spark)?$"


@pytest.mark.parametrize("day, command, comment",
                         [pytest.param(d, c, m, id=f"day{d:02}-{i}", marks=[pytest.mark.long] if re.match(LONG, c) else [])
                          for i, (d, c, m) in enumerate(COMMANDS) if c not in ELSEWHERE])
def test_course_command(day, command, comment, scratch):
    want = expectation(day, command, comment)
    as_run = command.replace("/tmp/", f"{scratch}/")
    if re.match(BENCHMARKS, command):
        as_run += f" EVENTS={BENCH_EVENTS}"
    as_run = as_run.replace("--since 10m", f"--since {SINCE}")
    if want == "service":
        return check_model_service(as_run)
    proc = subprocess.run(["bash", "-c", as_run], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    out = proc.stdout + proc.stderr
    if not command.startswith(FAILS_WITHOUT_DATA):
        assert proc.returncode == 0, f"day {day}: {command} exited {proc.returncode}:\n{out[-4000:]}"
    if callable(want):
        assert want(out, proc.returncode, scratch), f"day {day}: {command}:\n{out[-4000:]}"
    else:
        assert re.search(want, out, re.M), f"day {day}: {command}: no {want!r} in:\n{out[-4000:]}"
