"""The course stays true to the code: every make target, job, job option, dq command and
option, file and link it names exists."""
import re
import subprocess

import pytest

from testenv import ROOT

COURSE = sorted((ROOT / "course").glob("*.md"))
TEXT = {p.name: p.read_text() for p in COURSE}
MAKEFILE = (ROOT / "Makefile").read_text()
TARGETS = set(re.findall(r"^([a-z][a-z-]*):", MAKEFILE, re.M))
JOB_DIRS = {"flink-submit": ROOT / "flink_jobs", "spark-submit": ROOT / "spark_jobs"}
PATH_PREFIXES = ("analysis/", "bench/", "cli/", "config/", "contracts/", "docs/", "flink_jobs/", "ml/",
                 "notebooks/", "python/", "spark_jobs/", "src/", "stack/", "tests/")


def test_the_course_has_twenty_days_in_four_weeks():
    days = [int(d) for name in sorted(TEXT) if name.startswith("week") for d in re.findall(r"^## Day (\d+):",
                                                                                            TEXT[name], re.M)]
    assert days == list(range(1, 21))
    index = re.findall(r"^\| *(\d+) \|", TEXT["README.md"], re.M)
    assert [int(d) for d in index] == list(range(1, 21))


@pytest.mark.parametrize("name", sorted(TEXT))
def test_make_targets_and_jobs_exist(name):
    text = TEXT[name]
    for target in re.findall(r"(?:^|`)make ([a-z][a-z-]*)", text, re.M):
        assert target in TARGETS, f"{name}: make {target}"
    for kind, job, args in re.findall(r"make (flink-submit|spark-submit) JOB=(\w+)(?: ARGS=\"([^\"]*)\")?", text):
        source = JOB_DIRS[kind] / f"{job}.py"
        assert source.exists(), f"{name}: {kind} JOB={job}"
        known = source.read_text() + "".join(p.read_text() for p in JOB_DIRS[kind].glob("dq_*.py"))  # shared options
        for option in re.findall(r"(--[a-z-]+)", args):
            assert f'"{option}"' in known, f"{name}: {job} {option}"


@pytest.mark.parametrize("name", sorted(TEXT))
def test_dq_commands_and_options_exist(name, dq_bin):
    for line in TEXT[name].splitlines():
        m = re.search(r"build/dq (\w+)(.*)", line)
        if not m:
            continue
        out = subprocess.run([dq_bin, m.group(1), "--help"], capture_output=True, text=True)
        assert out.returncode == 0, f"{name}: dq {m.group(1)}"
        for option in re.findall(r"(--[a-z-]+)", m.group(2)):
            assert option in out.stdout, f"{name}: dq {m.group(1)} {option}"


@pytest.mark.parametrize("name", sorted(TEXT))
def test_files_and_links_exist(name):
    text = TEXT[name]
    for path in re.findall(r"`([a-z_]+/[\w./-]+)`", text):
        if path.startswith(PATH_PREFIXES):
            assert (ROOT / path.rstrip("/")).exists(), f"{name}: {path}"
    for link in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        if not link.startswith("http"):
            assert (ROOT / "course" / link).resolve().exists(), f"{name}: link {link}"


CODE = [p for pattern in ("src/*.c", "cli/*.c", "stack/*.sh", "stack/*.py", "python/dq/*.py", "ml/*.py",
                          "flink_jobs/*.py", "spark_jobs/*.py", "course/exercises/*.py")
        for p in ROOT.glob(pattern)]


@pytest.mark.parametrize("name", [n for n in sorted(TEXT) if n.startswith("week")])
def test_each_week_has_a_troubleshooting_section_quoting_real_messages(name):
    """Each week ends with what learners ran into; a message it quotes (*`...`*) is one the
    platform prints, word for word."""
    text = TEXT[name]
    assert "\n## Troubleshooting (week " in text, f"{name}: no troubleshooting section"
    section = text[text.index("\n## Troubleshooting (week "):]
    quoted = [m.group(2) for m in re.finditer(r"\*(``|`)(.+?)\1\*", section)]
    code = "\n".join(p.read_text() for p in CODE)
    assert quoted, f"{name}: the section quotes no message"
    for message in quoted:
        assert message in code, f"{name}: no code prints {message!r}"


def test_make_exercise_runs_a_days_checks():
    """`make exercise DAY=2` as every day's text says: the day's checks, each saying whose
    version it ran (here the published one: a fresh checkout's exercises say TODO); without
    DAY, how to call it."""
    usage = subprocess.run(["make", "-s", "exercise"], cwd=ROOT, capture_output=True, text=True)
    assert usage.returncode == 2 and "usage: make exercise DAY=<1-20>" in usage.stdout
    proc = subprocess.run(["make", "-s", "exercise", "DAY=2"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    ran = re.findall(r"day02/(\S+): the published (?:solution|answer)", proc.stdout)
    assert "ex6_recall.py" in ran and re.search(r"^\d+ passed", proc.stdout, re.M), proc.stdout[-3000:]
