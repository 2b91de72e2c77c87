"""`make bench-bindings`: the cost of calling libdq from Python, ctypes vs cffi.

Both call dq_engine_eval_batch on the same events in batches and build the same
results with dq.batch_result; the difference is only the foreign-function layer. Prints events/s through the
shipped ctypes bindings (python/dq), through the same batch call made with cffi (ABI
mode, no compiler), and through dq check for reference.

usage: bindings.py DQ_BIN EVENTS.ndjson
"""
import itertools
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
import dq  # noqa: E402

CONTRACT = ROOT / "contracts" / "sensor_readings.yaml"
BATCH = 10_000


def with_ctypes(lines):
    engine = dq.Engine(dq.Contract(CONTRACT), now="2026-01-03T00:00:00Z")
    rejected = 0
    for i in range(0, len(lines), BATCH):
        rejected += engine.evaluate(lines[i:i + BATCH]).verdicts.count("REJECT")
    return rejected


def with_cffi(lines):
    from cffi import FFI
    ffi = FFI()
    ffi.cdef("""
        void *dq_contract_load(const char *path, void *err);
        void *dq_engine_new(const void *ctr, void *err);
        void dq_engine_set_now(void *eng, int64_t now_ms);
        size_t dq_engine_clean_bound(size_t event_len);
        size_t dq_engine_eval_batch(void *eng, const char *buf, const uint64_t *offs, size_t n,
                                    uint8_t *verdicts, uint64_t *reasons, int64_t *event_time_ms,
                                    char *clean, size_t clean_cap, uint64_t *clean_offs);
    """)
    lib = ffi.dlopen(str(dq.library_path()))
    eng = lib.dq_engine_new(lib.dq_contract_load(str(CONTRACT).encode(), ffi.NULL), ffi.NULL)
    lib.dq_engine_set_now(eng, dq.parse_time("2026-01-03T00:00:00Z"))
    rejected = 0
    for i in range(0, len(lines), BATCH):
        chunk = lines[i:i + BATCH]
        n = len(chunk)
        offs = ffi.new("uint64_t[]", [0, *itertools.accumulate(map(len, chunk))])
        verdicts = ffi.new("uint8_t[]", n)
        reasons = ffi.new("uint64_t[]", n)
        times = ffi.new("int64_t[]", n)
        cap = lib.dq_engine_clean_bound(offs[n]) + n * lib.dq_engine_clean_bound(0)
        clean = ffi.new("char[]", cap)
        clean_offs = ffi.new("uint64_t[]", n + 1)
        assert lib.dq_engine_eval_batch(eng, b"".join(chunk), offs, n, verdicts, reasons, times, clean, cap,
                                        clean_offs) == n
        res = dq.batch_result(ffi.unpack(verdicts, n), ffi.unpack(reasons, n), ffi.unpack(times, n),
                              ffi.buffer(clean, clean_offs[n])[:], ffi.unpack(clean_offs, n + 1))
        rejected += res.verdicts.count("REJECT")
    return rejected


def main():
    dq_bin, events = sys.argv[1], sys.argv[2]
    lines = Path(events).read_bytes().split(b"\n")[:-1]
    rows = []
    for name, fn in (("python/dq (ctypes)", with_ctypes), ("cffi, ABI mode", with_cffi)):
        start = time.perf_counter()
        rejected = fn(lines)
        rows.append((name, time.perf_counter() - start, rejected))
    start = time.perf_counter()
    subprocess.run([dq_bin, "check", "-c", CONTRACT, "-i", events, "--clean", "/dev/null", "-q",
                    "--now", "2026-01-03T00:00:00Z"], check=True)
    rows.append(("dq check (no Python)", time.perf_counter() - start, rows[0][2]))
    print(f"| {'binding':<24} | {'seconds':>8} | {'events/s':>12} | {'rejected':>9} |")
    print(f"|{'-' * 26}|{'-' * 10}|{'-' * 14}|{'-' * 11}|")
    for name, secs, rej in rows:
        print(f"| {name:<24} | {secs:8.2f} | {len(lines) / secs:12,.0f} | {rej:9,} |")
    if rows[0][2] != rows[1][2]:
        sys.exit("bench-bindings: ctypes and cffi disagree")


if __name__ == "__main__":
    main()
