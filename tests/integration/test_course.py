"""The course's Python blocks run as written against the live stack (in the core venv, from
the checkout, as a JupyterLab notebook at its root does), after the shell line that makes
their input (the shell commands: test_course_commands.py)."""
import re
import subprocess

import pytest

from conftest import ROOT, run, venv

COURSE = {p.name: p.read_text() for p in sorted((ROOT / "course").glob("week*.md"))}
BLOCKS = [(name, text[:m.start()].rsplit("## Day ", 1)[1].split(":")[0], m.group(1))
          for name, text in COURSE.items() for m in re.finditer(r"```python\n(.*?)```", text, re.S)]


@pytest.fixture(scope="module")
def day6_events():
    """/tmp/events.ndjson, made by day 6's own command (day 15 reads it)."""
    line = next(line for text in COURSE.values() for line in text.splitlines() if "> /tmp/events.ndjson" in line)
    run(["bash", "-c", line], cwd=ROOT)


@pytest.mark.parametrize("name, day, code", BLOCKS, ids=[f"day{d}" for _, d, _ in BLOCKS])
def test_a_python_block_runs_as_written(name, day, code, day6_events):
    proc = subprocess.run([venv("core") / "bin" / "python", "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, f"{name}, day {day}:\n{proc.stderr[-3000:]}"
    if day == "10":  # today's readings of sensor_1: the live pipeline writes them
        count = int(re.search(r"count=(\d+)", proc.stdout).group(1))
        assert count > 0, proc.stdout

