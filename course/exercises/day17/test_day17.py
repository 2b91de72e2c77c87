"""Day 17: scoring in the stream (course/week4.md): dq check with and without the model of
`make train DEFECTS=noise=0.0005` (trained here with ml/train.py, without MLflow), and
bench/README.md's make bench-anomaly table."""
import json
import math
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from checks import PYTHON_ML, ROOT, module_of
from testenv import CONTRACT

BENCH = (ROOT / "bench" / "README.md").read_text()


FAULTS = ("spike", "stuck", "noise", "bias")  # ml/train.py's ANOMALY_TYPES: what a detector should see


def generate(dq_bin, out, *args):
    with out.open("wb") as f:
        subprocess.run([dq_bin, "gen", *args, "--defects", "noise=0.0005", "-q"], stdout=f, check=True)


@pytest.fixture(scope="module")
def day(tmp_path_factory, dq_bin) -> Path:
    """A folder with the model of `make train DEFECTS=noise=0.0005` (model.dqm) and the day's
    stream (stream.ndjson, stream.csv)."""
    folder = tmp_path_factory.mktemp("day17")
    generate(dq_bin, folder / "history.ndjson", "--count", "100000", "--seed", "11", "--start", "2026-01-01T00:00:00Z",
             "--truth", folder / "history.csv")  # make train's history
    subprocess.run([PYTHON_ML, ROOT / "ml" / "train.py", "--history", folder / "history.ndjson", "--truth",
                    folder / "history.csv", "--tracking-uri", "", "--out", folder / "model.dqm"],
                   capture_output=True, check=True)
    generate(dq_bin, folder / "stream.ndjson", "--count", "20000", "--seed", "3", "--start", "2026-11-20T00:00:00Z",
             "--truth", folder / "stream.csv")
    return folder


def checked(dq_bin, folder: Path, name: str, *model) -> tuple[Path, Path]:
    """dq check on the day's stream (--model FILE or none): (clean, rejects) files."""
    clean, rejects = folder / f"clean-{name}.ndjson", folder / f"rejects-{name}.ndjson"
    if not clean.exists():
        subprocess.run([dq_bin, "check", "-q", "-c", CONTRACT, "-i", folder / "stream.ndjson", "--now",
                        "2026-11-26T00:00:00Z", *model, "--clean", clean, "--rejects", rejects], check=True)
    return clean, rejects


@pytest.fixture(scope="module")
def flags(day, dq_bin) -> dict:
    """{"model"|"online": (flagged readings, how many of them on a fault)} on the day's stream."""
    folder = day
    truth = {int(row.split(",")[0]): row.split(",")[2] for row in (folder / "stream.csv").read_text().splitlines()[1:]}
    found = {}
    for name, model in (("online", []), ("model", ["--model", folder / "model.dqm"])):
        clean, rejects = checked(dq_bin, folder, name, *model)
        rejected = {json.loads(line)["line"] for line in rejects.open()}
        kept = (n for n in range(1, len(truth) + 1) if n not in rejected)  # the clean file keeps the input's order
        flagged = [truth[n] for n, line in zip(kept, clean.open())
                   if json.loads(line)["dq"].get("anomaly", {}).get("flag")]
        found[name] = len(flagged), sum(kind in FAULTS for kind in flagged)
    print(f"  flagged (on a fault): {found}")
    return found


def test_1_the_model_against_the_online_detector(flags, answer):
    (model, model_right), (online, online_right) = flags["model"], flags["online"]
    assert answer("day17", "flags_more") == ("model" if model > online else "online")
    assert answer("day17", "more_often_right") == ("model" if model_right / model > online_right / online else "online")
    assert answer("day17", "more_faults_found") == ("model" if model_right > online_right else "online")


def vectors_per_second(row: str) -> list[float]:
    line = next(line for line in BENCH.splitlines() if line.startswith(f"| {row}"))
    return [float(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", line.split("|")[2])]


def test_2_one_row_at_a_time(answer):
    libdq = vectors_per_second("libdq `dq_model_score` from Python, one call per vector")[0]
    sklearn = vectors_per_second("scikit-learn `score_samples`, one row per call")
    ratio = libdq / (sum(sklearn) / len(sklearn))
    assert round(math.log10(ratio)) == math.log10(int(answer("day17", "times_slower"))), ratio
    assert answer("day17", "whole_array") == "b"


def test_4_the_same_score_over_http(day, dq_bin):
    """Your scores_over_http against the model service (in a thread of this process, on a free
    port), for every scored reading of the day's stream: the score dq check --model wrote in
    its clean file, to the contract's decimals."""
    import dq
    sys.path.insert(0, str(ROOT / "ml"))
    from model_service import serve
    server = serve(day / "model.dqm", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        rows = [row for row in dq.Engine(dq.Contract(CONTRACT), now="2026-11-26T00:00:00Z").features(
            (day / "stream.ndjson").read_bytes().splitlines()) if row]
        over_http = module_of("day17/ex4_service.py").scores_over_http(
            f"http://127.0.0.1:{server.server_address[1]}/score", rows)
    finally:
        server.shutdown()
    clean, _ = checked(dq_bin, day, "model", "--model", day / "model.dqm")
    in_check = [event["dq"]["anomaly"]["score"] for event in map(json.loads, clean.open())
                if "score" in event["dq"].get("anomaly", {})]
    print(f"  {len(rows):,} scored readings; first scores over HTTP {over_http[:3]}, in dq check {in_check[:3]}")
    assert len(over_http) == len(in_check) == len(rows) > 10_000
    decimals = max(len(str(s).partition(".")[2]) for s in in_check)
    assert all(abs(a - b) <= 0.5 * 10 ** -decimals + 1e-12 for a, b in zip(over_http, in_check))


def test_5_what_a_model_file_holds(day, dq_bin, answer):
    lines = (day / "model.dqm").read_text().splitlines()
    header = {line.split()[0]: line.split()[1] for line in lines if line.split()
              and line.split()[0] in ("trees", "max_samples", "threshold")}
    leaves = sum(line.split()[0] == "-1" for line in lines if line.split())
    mine = module_of("day17/ex5_model_file.py").describe(str(day / "model.dqm"))
    want = {"trees": int(header["trees"]), "max_samples": int(header["max_samples"]),
            "threshold": float(header["threshold"]), "leaves": leaves}
    print(f"  {want}")
    assert mine == want and leaves > want["trees"], (mine, want)
    # the premise of the answer: a model naming other features than the contract's is refused
    renamed = day / "renamed.dqm"
    renamed.write_text("\n".join(line.replace("temperature.value", "temperature.raw") if line.startswith("features")
                                 else line for line in lines) + "\n")
    refused = subprocess.run([dq_bin, "check", "-q", "-c", CONTRACT, "-i", day / "stream.ndjson", "--model", renamed,
                              "--clean", "/dev/null"], capture_output=True, text=True)
    assert refused.returncode != 0 and "features are not the contract's" in refused.stderr, refused.stderr
    assert answer("day17", "feature_names") == "b"


def test_3_a_service_or_an_embedded_model(answer):
    doc = (ROOT / "docs" / "anomaly.md").read_text()
    times = re.search(r"the service's p50 is (\d+) x that", doc).group(1)
    assert answer("day17", "service_p50_times_in_process") == times
    assert [r.strip() for r in answer("day17", "service_reasons").split(",")] == ["b", "c"]


def test_6_many_vectors_per_call(answer):
    doc = (ROOT / "docs" / "anomaly.md").read_text()
    single = float(re.search(r"\| one vector per request \| ([\d,]+) requests/s \|", doc).group(1).replace(",", ""))
    batched = float(re.search(r"\| 1,000 vectors per request \| ([\d,]+) vectors/s \|", doc).group(1).replace(",", ""))
    assert abs(int(answer("day17", "batching_factor")) - batched / single) <= 1, batched / single
    assert answer("day17", "one_vector_time") == "b"
