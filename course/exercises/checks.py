"""What the exercises' checks share: which version of an exercise runs (yours, or the published
solution while yours still says TODO), and where things are. The fixtures are in conftest.py;
test files import from here (a module named conftest is ambiguous beside the other suites')."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

from dq.stack import CACHE

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "lib"))

EXERCISES, SOLUTIONS = Path(__file__).parent, ROOT / "course" / "solutions"
VENVS = CACHE / "venv"
# The ml venv (scikit-learn, ml/train.py's imports): days 16 and later train models with it.
PYTHON_ML = VENVS / "ml" / "bin" / "python"
PYTHON_SPARK = VENVS / "spark" / "bin" / "python"
NOT_STARTED = "TODO"


def solutions_only() -> bool:
    return os.environ.get("DQ_EXERCISES") == "solutions"


def placeholders(path: Path) -> list[str]:
    """The lines of a starting point that say TODO, comments (# and SQL's --) left out."""
    return [line for line in path.read_text().splitlines()
            if NOT_STARTED in line and not line.lstrip().startswith(("#", "--"))]


def started(path: Path) -> bool:
    """Whether no line but comments still says TODO."""
    return not placeholders(path)


def chosen(relative: str) -> Path:
    """Your file, or the solution's while yours says TODO."""
    mine = EXERCISES / relative
    if solutions_only() or not started(mine):
        print(f"\n  {relative}: the published solution (yours still says {NOT_STARTED})")
        return SOLUTIONS / relative
    print(f"\n  {relative}: yours")
    return mine


def drill(test: str) -> None:
    """Runs the integration test that does an exercise's drill on the running stack
    (tests/integration/FILE::TEST), as `make test` does; fails with its report if it fails."""
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           ROOT / "tests" / "integration" / test], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, f"the drill {test} failed:\n{proc.stdout[-3000:]}"
    print(f"  the drill {test}: passed")


def module_of(relative: str):
    """Your Python file of an exercise (or the solution's: chosen()), imported as a module."""
    path = chosen(relative)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def verdicts_by_line(dq_bin, events: Path, folder: Path) -> dict[int, dict]:
    """`dq check` with the course contract on events (at the course's fixed --now, files in
    folder): each input line's annotation, rejected or clean (the clean file keeps the input's order)."""
    from testenv import CONTRACT
    clean, rejects = folder / f"{events.stem}.clean", folder / f"{events.stem}.rejects"
    subprocess.run([dq_bin, "check", "-q", "-c", CONTRACT, "-i", events, "--now", "2026-11-26T00:00:00Z",
                    "--clean", clean, "--rejects", rejects], check=True)
    judged = {r["line"]: r["dq"] for r in map(json.loads, rejects.open())}
    kept = (n for n in range(1, len(events.read_bytes().splitlines()) + 1) if n not in judged)
    judged.update(zip(kept, (json.loads(line)["dq"] for line in clean.open())))
    return judged


def spark_python(script: Path, *args: str) -> str:
    """Runs a PySpark script in a local Spark (the spark venv, Java 17) with args, as `make
    spark-submit` runs the jobs on the stack's cluster, and returns what it printed. Days 6-9's
    jobs read files and, with --no-cassandra where they have it, need no stack."""
    java = subprocess.run(["bash", "-c", ". stack/lib.sh && find_java17"], cwd=ROOT, capture_output=True, text=True)
    assert java.returncode == 0, "Java 17 not found: run 'make deps'"
    env = {**os.environ, "JAVA_HOME": java.stdout.strip(), "PYSPARK_PYTHON": str(PYTHON_SPARK),
           "SPARK_LOCAL_IP": "127.0.0.1", "PYTHONPATH": str(ROOT / "spark_jobs"), "DQ_ROOT": str(ROOT)}
    proc = subprocess.run([PYTHON_SPARK, script, *args], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"{script.name} failed:\n{proc.stderr[-3000:]}"
    return proc.stdout


def spark_job(job: str, *args: str) -> str:
    """spark_jobs/JOB.py in a local Spark (spark_python)."""
    return spark_python(ROOT / "spark_jobs" / f"{job}.py", *args)


def json_lines(folder: Path) -> list[dict]:
    """The rows of a Spark job's JSON output folder (its part files)."""
    return [json.loads(line) for part in sorted(folder.glob("part-*.json")) for line in part.open()]


def spark_sql(query: Path, tables: dict[str, tuple[list[dict], str]], folder: Path,
              as_of: str = "2026-11-26 12:00:00") -> list[dict]:
    """query's result in a local Spark over tables {name: (rows, Spark DDL schema)}, as
    spark_analysis.py runs analysis/*.sql over the Cassandra tables (spark_sql.py)."""
    args = []
    for name, (rows, schema) in tables.items():
        path = folder / f"{name}.ndjson"
        with path.open("w") as f:
            f.writelines(json.dumps(row, default=str) + "\n" for row in rows)
        args.append(f"{name}={path}={schema}")
    printed = spark_python(EXERCISES / "spark_sql.py", str(query), as_of, *args)
    return [json.loads(line) for line in printed.splitlines() if line.startswith("{")]
