"""The exercises' checks (`make exercise DAY=N`). Each check runs your version of an exercise,
the files in course/exercises/dayNN/, or, while yours still says TODO, the published solution
in course/solutions/dayNN/, and prints which it ran. DQ_EXERCISES=solutions runs the
solutions whatever yours say (make test does: the published solutions must pass)."""
import json
import os
import subprocess
import tomllib
from pathlib import Path

import pytest

from checks import EXERCISES, NOT_STARTED, PYTHON_ML, ROOT, SOLUTIONS, chosen, solutions_only, spark_job
from testenv import CONTRACT, DQ_BIN, dq_bin  # noqa: F401  (a fixture)


def pytest_configure(config):
    config.addinivalue_line("markers", "stack: needs the running stack (make up); make test runs these with the "
                                       "integration tests")
    config.addinivalue_line("markers", "drill: runs the integration test that does the exercise's drill; make test "
                                       "runs that test once, in its integration suite")


@pytest.fixture(autouse=True)
def stack_is_up(request):
    """A check marked stack says what to do when the stack is down, before anything fails."""
    if request.node.get_closest_marker("stack") and subprocess.run([ROOT / "stack" / "status.sh", "--quiet"],
                                                                   capture_output=True).returncode != 0:
        pytest.fail("this check needs the stack: run `make up` first (a few minutes the first time)", pytrace=False)


@pytest.fixture
def answer():
    """answer(day, key): your answer in dayNN/answers.toml, or the published one while yours says TODO."""
    def get(day: str, key: str) -> str:
        mine = tomllib.loads((EXERCISES / day / "answers.toml").read_text())[key]
        if solutions_only() or mine.strip() == NOT_STARTED:
            print(f"\n  {day}/answers.toml {key}: the published answer (yours still says {NOT_STARTED})")
            mine = tomllib.loads((SOLUTIONS / day / "answers.toml").read_text())[key]
        else:
            print(f"\n  {day}/answers.toml {key}: yours")
        return mine.strip().lower()
    return get


@pytest.fixture
def script(tmp_path):
    """script(day/name, *args): runs an exercise's shell script in a fresh folder, with $DQ (the
    built dq), $CONTRACT (the course contract), $ROOT (the checkout) and $PYTHON_ML (the ml
    venv's python) set; returns the folder, where stdout.txt holds what it printed."""
    def run(relative: str, *args: str) -> Path:
        env = {**os.environ, "DQ": str(DQ_BIN), "CONTRACT": str(CONTRACT), "ROOT": str(ROOT),
               "PYTHON_ML": str(PYTHON_ML)}
        proc = subprocess.run(["sh", chosen(relative), *args], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, f"{relative} failed:\n{proc.stderr}"
        (tmp_path / "stdout.txt").write_text(proc.stdout)
        return tmp_path
    return run


def generated(tmp_path_factory, dq_bin, name: str, *args: str) -> Path:
    """20,000 events of dq gen with args, in a fresh folder."""
    events = tmp_path_factory.mktemp("course") / name
    with events.open("wb") as out:
        subprocess.run([dq_bin, "gen", "--count", "20000", *args, "-q"], stdout=out, check=True)
    return events


@pytest.fixture(scope="session")
def course_events(tmp_path_factory, dq_bin) -> Path:
    """/tmp/events.ndjson of days 6-9: 20,000 events of 100 sensors from 2026-11-20, --seed 5."""
    return generated(tmp_path_factory, dq_bin, "events.ndjson", "--seed", "5", "--start", "2026-11-20T00:00:00Z")


@pytest.fixture(scope="session")
def course_history(tmp_path_factory, dq_bin) -> Path:
    """/tmp/history.ndjson of day 9: another day's 20,000 events, from noon (--seed 6)."""
    return generated(tmp_path_factory, dq_bin, "history.ndjson", "--seed", "6", "--start", "2026-11-21T12:00:00Z")


@pytest.fixture(scope="session")
def spark_quality_report(tmp_path_factory, dq_bin, course_events):
    """Day 6's run, which day 7 reads too: the Spark quality report (spark_data_quality_check in
    a local Spark) and dq check on the day's events (folder/clean.ndjson, rejects.ndjson).
    -> (folder, events, report folder, dq check's summary)."""
    now = "2026-11-26T00:00:00Z"
    folder, events = tmp_path_factory.mktemp("day06"), course_events
    report = folder / "spark_quality"
    spark_job("spark_data_quality_check", "--input", str(events), "--now", now, "--no-cassandra", "--out", str(report))
    subprocess.run([dq_bin, "check", "-q", "-c", CONTRACT, "-i", events, "--now", now, "--clean",
                    folder / "clean.ndjson", "--rejects", folder / "rejects.ndjson", "--summary",
                    folder / "summary.json"], check=True)
    return folder, events, report, json.loads((folder / "summary.json").read_text())


@pytest.fixture(scope="session")
def spark_cleaning(tmp_path_factory, course_events):
    """Days 8-9's runs of spark_data_cleaning in a local Spark on the day's events:
    cleaned(impute, history=None) -> (the folder with clean/ and rejects/, what the job printed)."""
    runs = {}

    def cleaned(impute: str, history: Path | None = None) -> tuple[Path, str]:
        if (impute, history) not in runs:
            out = tmp_path_factory.mktemp(f"cleaning-{impute}")
            fitted_on = ["--history", str(history)] if history else []
            printed = spark_job("spark_data_cleaning", "--input", str(course_events), "--impute", impute,
                                *fitted_on, "--out", str(out))
            runs[impute, history] = out, printed
        return runs[impute, history]
    return cleaned
