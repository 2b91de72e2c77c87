"""The README's examples, run as a reader would run them, print what the README shows."""
import os
import re
import subprocess
import sys

from testenv import ROOT

README = (ROOT / "README.md").read_text()


def block_after(marker: str, lang: str) -> tuple[str, str]:
    """The ```lang block containing marker, and the ```text block right after it."""
    blocks = re.findall(r"```(\w*)\n(.*?)```", README, re.S)
    for i, (kind, body) in enumerate(blocks):
        if kind == lang and marker in body:
            assert blocks[i + 1][0] == "text", f"no output shown after the block with {marker!r}"
            return body, blocks[i + 1][1]
    raise AssertionError(f"no ```{lang} block with {marker!r} in README.md")


def without_timing(text: str) -> str:
    return re.sub(r"in [\d.]+ s \([\d.]+ M events/s\)", "in <time>", text)


def test_dq_check_example(dq_bin, tmp_path):
    commands, shown = block_after("dq gen --count 100000", "sh")
    script = commands.replace("build/dq", str(dq_bin)).replace("contracts/", f"{ROOT}/contracts/")
    proc = subprocess.run(["bash", "-ec", script], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert without_timing(proc.stderr) == without_timing(shown)
    # The score command the text quotes, on those files.
    score = re.search(r"`(build/dq score [^`]+)`", README.replace("\n", " ")).group(1)
    proc = subprocess.run(["bash", "-ec", score.replace("build/dq", str(dq_bin))], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    recall = dict(re.findall(r"^(\w+)\s+[A-Z_]+\s+\d+\s+\d+\s+([\d.]+)", proc.stdout, re.M))
    assert len(recall) == 16  # as the README says:
    assert round(float(recall.pop("spike")), 3) == 0.991 and round(float(recall.pop("noise")), 3) == 0.972
    assert round(float(recall.pop("bias")), 3) == 0.981
    assert set(recall.values()) == {"1.0000"}


def test_python_example():
    code, shown = block_after("import dq", "python")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "python"))
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == shown
