"""Day 8: cleaning with Spark (course/week2.md). spark_data_cleaning runs in a local Spark on
the day's file (conftest.spark_cleaning: about 30 s), beside dq check on the same file."""
import collections
import json
import re
import subprocess

from checks import ROOT, chosen, json_lines
from testenv import CONTRACT


def listed(text: str) -> set[str]:
    return {name.strip().upper() for name in text.split(",") if name.strip()}


def test_1_nothing_lost(spark_cleaning, course_events, answer):
    out, printed = spark_cleaning("last_good")
    clean, rejects = len(json_lines(out / "clean")), len(json_lines(out / "rejects"))
    lines = sum(1 for _ in course_events.open("rb"))
    assert f"{lines} events from {course_events}: {clean} clean, {rejects} rejected" in printed, printed
    assert clean + rejects == lines
    assert (int(answer("day08", "clean_rows")), int(answer("day08", "rejected_rows"))) == (clean, rejects)


def test_2_a_timestamp_without_offset(answer):
    vectors = (ROOT / "tests" / "vectors" / "stateless.test").read_text()
    case = re.search(r"# reject: timestamp without offset\n(?:.*\n)*?> REJECT (\w+)", vectors)
    assert answer("day08", "no_offset_reason").upper() == case.group(1)


def test_3_what_libdq_rejects_that_the_job_does_not(spark_cleaning, course_events, tmp_path, answer):
    out, _ = spark_cleaning("last_good")
    job = {reason for row in json_lines(out / "rejects") for reason in row["reasons"]}
    rejects = tmp_path / "rejects.ndjson"
    subprocess.run(["build/dq", "check", "-q", "-c", CONTRACT, "-i", course_events, "--now", "2026-11-26T00:00:00Z",
                    "--clean", "/dev/null", "--rejects", rejects], cwd=ROOT, check=True)
    libdq = {reason for line in rejects.open() for reason in json.loads(line)["dq"]["reasons"]}
    assert listed(answer("day08", "libdq_only_reasons")) == libdq - job, (libdq, job)


def test_4_capped_coerced_or_passed(dq_bin, answer):
    lines = [line for line in chosen("day08/ex4_pressure.ndjson").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    readings = [json.loads(line) for line in lines]
    assert len(readings) == 4 and {r["sensor_id"] for r in readings} == {"sensor_1"}, readings
    pressures = [r.get("pressure") for r in readings]
    assert pressures[0] > 1085 and pressures[1] < 870 and isinstance(pressures[2], str) and 870 <= float(
        pressures[2]) <= 1085 and "pressure" not in readings[3], pressures  # the four cases, in order
    checked = subprocess.run([dq_bin, "check", "-q", "-c", CONTRACT, "--now", "2026-11-27T00:00:00Z", "--clean", "-"],
                             input="\n".join(lines) + "\n", capture_output=True, text=True, check=True).stdout
    clean = [json.loads(line) for line in checked.splitlines()]
    assert len(clean) == 4, checked  # none rejected
    assert clean[0]["pressure"] == float(answer("day08", "capped_high"))
    assert clean[1]["pressure"] == float(answer("day08", "capped_low"))
    assert clean[0]["dq"]["findings"][0]["action"] == clean[1]["dq"]["findings"][0]["action"] == "capped"
    assert clean[2]["dq"]["status"].lower() == answer("day08", "string_verdict")
    assert clean[3]["dq"]["status"].lower() == answer("day08", "no_pressure_verdict")


def test_5_the_same_repairs_counted_twice(spark_cleaning, course_events, tmp_path, answer):
    out, _ = spark_cleaning("last_good")
    job = collections.Counter(done for row in json_lines(out / "clean") for done in row["cleaning"])
    clean = tmp_path / "clean.ndjson"
    subprocess.run(["build/dq", "check", "-q", "-c", CONTRACT, "-i", course_events, "--now", "2026-11-26T00:00:00Z",
                    "--clean", clean, "--rejects", "/dev/null"], cwd=ROOT, check=True)
    libdq = collections.Counter(f'{f["field"]}:{f["action"]}' for line in clean.open()
                                for f in json.loads(line)["dq"].get("findings", [])
                                if f["action"] in ("coerced", "capped", "imputed"))
    print(f"  the job: {dict(job)}; libdq: {dict(libdq)}")
    assert int(answer("day08", "job_temperature_coerced")) == job["temperature:coerced"]
    assert int(answer("day08", "libdq_temperature_coerced")) == libdq["temperature:coerced"]
    assert answer("day08", "same_repairs") == ("yes" if job == libdq else "no")
    assert answer("day08", "why_same") == "b"
