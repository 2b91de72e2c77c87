"""Thin Python bindings to libdq, the data-quality engine written in C.

Nothing here re-implements a rule: events go to libdq in batches (one ctypes call
per batch, not per event) and come back with verdicts, reason codes and the
cleaned, canonical JSON.

    import dq
    contract = dq.Contract("contracts/sensor_readings.yaml")
    engine = dq.Engine(contract, now="2026-11-26T05:00:00Z")
    result = engine.evaluate([b'{"sensor_id":"sensor_1", ...}', b'not json'])
    result.verdicts   # ['PASS', 'REJECT']
    result.reasons    # [[], ['MALFORMED_JSON']]
    result.clean      # [b'{"sensor_id":"sensor_1",...,"dq":{"status":"PASS"}}', None]

Why ctypes: it needs no compiler at install time and, with the batch call, the
per-event cost of crossing into C is a few array writes (bench/README.md).
The shared library is found through $DQ_LIB, then build/libdq.so of this checkout.
"""
from __future__ import annotations

import array
import ctypes
import dataclasses
import itertools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

__all__ = ["Contract", "Engine", "Model", "BatchResult", "DqError", "REASONS", "VERDICTS", "ONLINE_FLAG_SCORE",
           "library_path"]

VERDICTS = ("PASS", "FIXED", "REJECT")
# The online detector's score, z / (z + the sensor's flag threshold), is this at its flag
# (docs/anomaly.md); a model's score flags at the model's threshold.
ONLINE_FLAG_SCORE = 0.5


class DqError(Exception):
    """A contract or model that does not load, or an engine that cannot be created. `code` is
    libdq's error name ("DQ_ERR_CONTRACT", "DQ_ERR_IO", ...) when libdq gave one, and `line`
    the line of the file at fault (0: none)."""

    def __init__(self, message: str, code: str | None = None, line: int = 0):
        super().__init__(message)
        self.code, self.line = code, line


class _Error(ctypes.Structure):
    """struct dq_error."""
    _fields_ = [("code", ctypes.c_int), ("line", ctypes.c_int), ("msg", ctypes.c_char * 512)]

    def raise_(self):
        raise DqError(self.msg.decode(errors="replace"), _lib.dq_err_name(self.code).decode(), self.line)


def library_path() -> Path:
    env = os.environ.get("DQ_LIB")
    if env:
        return Path(env)
    root = Path(__file__).resolve().parents[2]
    return root / "build" / "libdq.so"


def _load() -> ctypes.CDLL:
    path = library_path()
    if not path.exists():
        raise DqError(f"libdq not found at {path}: run `make build` (or set DQ_LIB)")
    lib = ctypes.CDLL(str(path))
    c = ctypes
    lib.dq_contract_load.restype = c.c_void_p
    lib.dq_contract_load.argtypes = [c.c_char_p, c.c_void_p]
    lib.dq_contract_free.argtypes = [c.c_void_p]
    lib.dq_contract_id.restype = c.c_char_p
    lib.dq_contract_id.argtypes = [c.c_void_p]
    lib.dq_contract_version.restype = c.c_char_p
    lib.dq_contract_version.argtypes = [c.c_void_p]
    lib.dq_engine_new.restype = c.c_void_p
    lib.dq_engine_new.argtypes = [c.c_void_p, c.c_void_p]
    lib.dq_engine_free.argtypes = [c.c_void_p]
    lib.dq_engine_set_now.argtypes = [c.c_void_p, c.c_int64]
    lib.dq_engine_flush.argtypes = [c.c_void_p]
    lib.dq_engine_clean_bound.restype = c.c_size_t
    lib.dq_engine_clean_bound.argtypes = [c.c_size_t]
    lib.dq_engine_eval_batch.restype = c.c_size_t
    lib.dq_engine_eval_batch.argtypes = [
        c.c_void_p, c.c_char_p, c.POINTER(c.c_uint64), c.c_size_t, c.POINTER(c.c_uint8),
        c.POINTER(c.c_uint64), c.POINTER(c.c_int64), c.c_void_p, c.c_size_t, c.POINTER(c.c_uint64)]
    lib.dq_engine_totals.argtypes = [c.c_void_p, c.c_void_p]
    lib.dq_engine_set_window_cb.argtypes = [c.c_void_p, c.c_void_p, c.c_void_p]
    lib.dq_window_stats_json.restype = c.c_size_t
    lib.dq_window_stats_json.argtypes = [c.c_void_p, c.c_char_p, c.c_size_t]
    lib.dq_engine_state_changes.argtypes = [c.c_void_p, c.c_void_p, c.c_void_p]
    lib.dq_engine_state_restore.restype = c.c_int
    lib.dq_engine_state_restore.argtypes = [c.c_void_p, c.c_char_p, c.c_size_t, c.c_char_p, c.c_size_t]
    lib.dq_engine_state_clear.argtypes = [c.c_void_p]
    lib.dq_contract_feature_count.restype = c.c_int
    lib.dq_contract_feature_count.argtypes = [c.c_void_p]
    lib.dq_contract_fields_json.restype = c.c_size_t
    lib.dq_contract_fields_json.argtypes = [c.c_void_p, c.c_char_p, c.c_size_t]
    lib.dq_contract_anomaly_threshold.restype = c.c_double
    lib.dq_contract_anomaly_threshold.argtypes = [c.c_void_p]
    lib.dq_contract_feature_name.restype = c.c_char_p
    lib.dq_contract_feature_name.argtypes = [c.c_void_p, c.c_int]
    lib.dq_engine_eval_features.restype = c.c_size_t
    lib.dq_engine_eval_features.argtypes = [c.c_void_p, c.c_char_p, c.POINTER(c.c_uint64), c.c_size_t,
                                            c.POINTER(c.c_double)]
    lib.dq_engine_set_model.restype = c.c_int
    lib.dq_engine_set_model.argtypes = [c.c_void_p, c.c_void_p, c.c_void_p]
    lib.dq_model_load.restype = c.c_void_p
    lib.dq_model_load.argtypes = [c.c_char_p, c.c_void_p]
    lib.dq_model_free.argtypes = [c.c_void_p]
    lib.dq_model_threshold.restype = c.c_double
    lib.dq_model_threshold.argtypes = [c.c_void_p]
    lib.dq_model_feature_count.restype = c.c_int
    lib.dq_model_feature_count.argtypes = [c.c_void_p]
    lib.dq_model_feature_name.restype = c.c_char_p
    lib.dq_model_feature_name.argtypes = [c.c_void_p, c.c_int]
    lib.dq_model_score.restype = c.c_double
    lib.dq_model_score.argtypes = [c.c_void_p, c.POINTER(c.c_double)]
    lib.dq_err_str.restype = c.c_char_p
    lib.dq_err_str.argtypes = [c.c_int]
    lib.dq_err_name.restype = c.c_char_p
    lib.dq_err_name.argtypes = [c.c_int]
    lib.dq_reason_name.restype = c.c_char_p
    lib.dq_reason_name.argtypes = [c.c_int]
    lib.dq_reason_count.restype = c.c_int
    lib.dq_reason_count.argtypes = []
    lib.dq_sizeof.restype = c.c_size_t
    lib.dq_sizeof.argtypes = [c.c_char_p]
    lib.dq_verdict_name.restype = c.c_char_p
    lib.dq_verdict_name.argtypes = [c.c_int]
    lib.dq_time_parse_n.restype = c.c_int
    lib.dq_time_parse_n.argtypes = [c.c_char_p, c.c_size_t, c.POINTER(c.c_int64)]
    lib.dq_duration_parse_n.restype = c.c_int
    lib.dq_duration_parse_n.argtypes = [c.c_char_p, c.c_size_t, c.POINTER(c.c_int64)]
    return lib


_lib = _load()
_REASON_COUNT = _lib.dq_reason_count()
REASONS = tuple(_lib.dq_reason_name(i).decode() for i in range(_REASON_COUNT))
_REJECT = VERDICTS.index("REJECT")


_names_of_mask: dict[int, list[str]] = {0: []}


def _reason_names(mask: int) -> list[str]:
    """Reason names of a bit mask; masks repeat a lot, so each is decoded once."""
    names = _names_of_mask.get(mask)
    if names is None:
        names = _names_of_mask[mask] = [REASONS[i] for i in range(1, _REASON_COUNT) if mask >> i & 1]
    return list(names)


def batch_result(verdicts, reasons, times, clean: bytes, clean_offs) -> "BatchResult":
    """Turns the arrays dq_engine_eval_batch filled (any sequence of ints) into a BatchResult."""
    int64_min = -(1 << 63)
    verdicts, clean_offs = list(verdicts), list(clean_offs)
    return BatchResult(
        verdicts=[VERDICTS[v] for v in verdicts],
        reasons=[_reason_names(m) for m in reasons],
        event_time_ms=[None if t == int64_min else t for t in times],
        clean=[None if v == _REJECT else clean[a:b] for v, a, b in zip(verdicts, clean_offs, clean_offs[1:])],
        annotation=[clean[a:b] if v == _REJECT else None for v, a, b in zip(verdicts, clean_offs, clean_offs[1:])],
    )


def _pack(events: Sequence[bytes | str]) -> tuple[bytes, array.array]:
    """Events as one buffer and their n + 1 end offsets: the layout of libdq's batch calls."""
    raw = [e.encode() if isinstance(e, str) else bytes(e) for e in events]
    ends = array.array("Q", [0])
    ends.extend(itertools.accumulate(map(len, raw)))
    return b"".join(raw), ends


def _array_ptr(arr: array.array, ctype):
    """A ctypes view of an array.array (no copy). Results land in array.array buffers:
    reading them back is C speed, unlike ctypes arrays."""
    return (ctype * len(arr)).from_buffer(arr)


class _Totals(ctypes.Structure):
    _fields_ = [("events", ctypes.c_uint64), ("verdicts", ctypes.c_uint64 * 3),
                ("reasons", ctypes.c_uint64 * _REASON_COUNT), ("keys", ctypes.c_uint64),
                ("state_overflow", ctypes.c_uint64), ("anomalies_scored", ctypes.c_uint64),
                ("anomalies", ctypes.c_uint64), ("state_evicted", ctypes.c_uint64)]


for _struct, _name in ((_Totals, b"dq_totals"), (_Error, b"dq_error")):  # the copies above match libdq's
    if ctypes.sizeof(_struct) != _lib.dq_sizeof(_name):
        raise DqError(f"{library_path()}: struct {_name.decode()} is {_lib.dq_sizeof(_name)} bytes, these bindings "
                      f"expect {ctypes.sizeof(_struct)}: rebuild libdq (make build) or update python/dq")
if VERDICTS != tuple(_lib.dq_verdict_name(v).decode() for v in range(len(VERDICTS))):
    raise DqError(f"{library_path()}: verdict codes differ from these bindings'")

_WINDOW_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)
_STATE_CB = ctypes.CFUNCTYPE(None, ctypes.POINTER(ctypes.c_char), ctypes.c_size_t,
                             ctypes.POINTER(ctypes.c_char), ctypes.c_size_t, ctypes.c_void_p)


class Contract:
    """A compiled data contract (read-only; may be shared by engines)."""

    def __init__(self, path: str | os.PathLike):
        err = _Error()
        self._ptr = _lib.dq_contract_load(os.fsencode(path), ctypes.byref(err))
        if not self._ptr:
            err.raise_()
        self.id = _lib.dq_contract_id(self._ptr).decode()
        self.version = _lib.dq_contract_version(self._ptr).decode()
        # The anomaly features libdq computes per event (docs/anomaly.md), in order.
        self.features = [_lib.dq_contract_feature_name(self._ptr, i).decode()
                         for i in range(_lib.dq_contract_feature_count(self._ptr))]
        self.anomaly_threshold = _lib.dq_contract_anomaly_threshold(self._ptr)  # NaN: no anomaly section
        buf = ctypes.create_string_buffer(65536)
        # Each property's rules (name, type, required, minimum, maximum, pattern, enum, ...; dq.h).
        n = _lib.dq_contract_fields_json(self._ptr, buf, len(buf))
        self.fields = json.loads(buf.raw[:n])

    def __del__(self):
        if getattr(self, "_ptr", None):
            _lib.dq_contract_free(self._ptr)
            self._ptr = None


@dataclass
class BatchResult:
    verdicts: list[str]
    reasons: list[list[str]]
    event_time_ms: list[int | None]
    clean: list[bytes | None]  # PASS/FIXED: canonical JSON with the annotation as its "dq" member
    annotation: list[bytes | None]  # REJECT: the annotation, {"status":"REJECT","reasons":[..],"findings":[..]}

    def counts(self) -> dict[str, int]:
        return {v: self.verdicts.count(v) for v in VERDICTS}


def parse_duration(text: str) -> int:
    """A duration as contracts write them ("500ms", "10s", "5m", "1h", "1d") -> milliseconds."""
    out = ctypes.c_int64()
    raw = text.encode()
    if _lib.dq_duration_parse_n(raw, len(raw), ctypes.byref(out)) != 0 or out.value <= 0:
        raise ValueError(f"not a duration such as 10s, 5m, 1h: {text!r}")
    return out.value


def since_ms(text: str | None, now_ms: int | None = None) -> int | None:
    """--since of the course jobs: the epoch ms DURATION ago (None: no --since given)."""
    if text is None:
        return None
    import time
    return (now_ms if now_ms is not None else int(time.time() * 1000)) - parse_duration(text)


def parse_time(text: str) -> int:
    """ISO-8601 with an offset -> epoch milliseconds (libdq's parser)."""
    out = ctypes.c_int64()
    raw = text.encode()
    if _lib.dq_time_parse_n(raw, len(raw), ctypes.byref(out)) != 0:
        raise ValueError(f"not an ISO-8601 time with offset: {text!r}")
    return out.value


class Model:
    """An anomaly model exported for libdq (ml/export.py: an isolation forest or a Hotelling T²
    model): scores feature vectors, and engines given it score their events with it."""

    def __init__(self, path: str | os.PathLike):
        err = _Error()
        self._ptr = _lib.dq_model_load(os.fsencode(path), ctypes.byref(err))
        if not self._ptr:
            err.raise_()
        self.threshold = _lib.dq_model_threshold(self._ptr)
        self.n_features = _lib.dq_model_feature_count(self._ptr)
        self.features = [_lib.dq_model_feature_name(self._ptr, i).decode() for i in range(self.n_features)]

    def score(self, rows: Iterable[Sequence[float]]) -> list[float]:
        """The model's scores of feature vectors: a forest's in (0, 1] (scikit-learn's
        -score_samples), a Hotelling model's T² (0 at the training mean)."""
        out = []
        vector = (ctypes.c_double * self.n_features)()
        for row in rows:
            vector[:] = row
            out.append(_lib.dq_model_score(self._ptr, vector))
        return out

    def __del__(self):
        if getattr(self, "_ptr", None):
            _lib.dq_model_free(self._ptr)
            self._ptr = None


class Engine:
    """Evaluates events against a contract, keeping per-sensor state and windows.

    Not thread-safe: one engine per thread (as in libdq)."""

    def __init__(self, contract: Contract, now: str | int | None = None,
                 on_window: Callable[[dict], None] | None = None, model: Model | None = None):
        err = _Error()
        self._contract = contract  # keeps the contract alive as long as the engine
        self._ptr = _lib.dq_engine_new(contract._ptr, ctypes.byref(err))
        if not self._ptr:
            err.raise_()
        self._model = model  # and the model
        if model is not None and _lib.dq_engine_set_model(self._ptr, model._ptr, ctypes.byref(err)):
            err.raise_()
        if now is not None:
            self.set_now(now)
        self._clean = ctypes.create_string_buffer(1)
        self._cb = None
        if on_window is not None:
            import json

            def trampoline(stats, _opaque):
                buf = ctypes.create_string_buffer(8192)
                n = _lib.dq_window_stats_json(stats, buf, len(buf))
                on_window(json.loads(buf.raw[:n]))
            self._cb = _WINDOW_CB(trampoline)
            _lib.dq_engine_set_window_cb(self._ptr, ctypes.cast(self._cb, ctypes.c_void_p), None)

    BATCH = 8192  # events per libdq call: the output buffer is sized for the worst case of each

    def evaluate(self, events: Sequence[bytes | str]) -> BatchResult:
        if len(events) <= self.BATCH:
            return self._evaluate(events)
        parts = [self._evaluate(events[i:i + self.BATCH]) for i in range(0, len(events), self.BATCH)]
        return BatchResult(*(list(itertools.chain.from_iterable(getattr(p, f.name) for p in parts))
                             for f in dataclasses.fields(BatchResult)))

    def _evaluate(self, events: Sequence[bytes | str]) -> BatchResult:
        buf, ends = _pack(events)
        n, total = len(ends) - 1, ends[-1]
        verdicts = array.array("B", bytes(n))
        reasons = array.array("Q", [0]) * n
        times = array.array("q", [0]) * n
        # The bound is linear in the length: one call for the total, the constant per event.
        cap = _lib.dq_engine_clean_bound(total) + n * _lib.dq_engine_clean_bound(0)
        if len(self._clean) < cap:  # grown with headroom, never shrunk: ctypes zero-fills new buffers
            self._clean = ctypes.create_string_buffer(cap * 2)
        clean = self._clean
        clean_offs = array.array("Q", [0]) * (n + 1)
        done = _lib.dq_engine_eval_batch(self._ptr, buf, _array_ptr(ends, ctypes.c_uint64), n,
                                         _array_ptr(verdicts, ctypes.c_uint8), _array_ptr(reasons, ctypes.c_uint64),
                                         _array_ptr(times, ctypes.c_int64), clean, cap,
                                         _array_ptr(clean_offs, ctypes.c_uint64))
        if done != n:
            raise DqError(f"libdq evaluated {done} of {n} events")
        return batch_result(verdicts, reasons, times, ctypes.string_at(clean, clean_offs[n]), clean_offs)

    def features(self, events: Sequence[bytes | str]) -> list[list[float] | None]:
        """Evaluates events (as evaluate() does, state included) and gives each one's anomaly
        features (Contract.features), or None where it is not scored: the training data of
        a model libdq will score."""
        buf, ends = _pack(events)
        n, nf = len(ends) - 1, len(self._contract.features)
        out = array.array("d", bytes(8 * n * nf))
        done = _lib.dq_engine_eval_features(self._ptr, buf, _array_ptr(ends, ctypes.c_uint64), n,
                                            _array_ptr(out, ctypes.c_double) if n * nf else None)
        if done != n:
            raise DqError(f"libdq evaluated {done} of {n} events")
        rows = [out[i * nf:(i + 1) * nf].tolist() for i in range(n)]
        return [None if not row or row[0] != row[0] else row for row in rows]  # NaN: not scored

    def set_now(self, now: str | int) -> None:
        """Sets "now" for the future-timestamp rule: ISO-8601 text or epoch milliseconds."""
        _lib.dq_engine_set_now(self._ptr, parse_time(now) if isinstance(now, str) else int(now))

    def flush(self) -> None:
        """Closes every open metrics window (reported through on_window)."""
        _lib.dq_engine_flush(self._ptr)

    def state_changes(self) -> dict[str, bytes]:
        """Saved state of every key changed since the last call: {key: bytes}.

        Keep the bytes (a Flink ValueState, a compacted topic, a file) and give them
        back to restore_state() after a restart: verdicts then continue as if the
        engine had never stopped."""
        out: dict[str, bytes] = {}

        def keep(key, key_len, state, length, _opaque):
            out[ctypes.string_at(key, key_len).decode()] = ctypes.string_at(state, length)
        _lib.dq_engine_state_changes(self._ptr, ctypes.cast(_STATE_CB(keep), ctypes.c_void_p), None)
        return out

    def restore_state(self, key: str, state: bytes) -> None:
        """Gives a key the state saved by state_changes() (DqError if it does not fit the contract)."""
        raw, state = key.encode(), bytes(state)  # any bytes-like (Spark hands over bytearray)
        err = _lib.dq_engine_state_restore(self._ptr, raw, len(raw), state, len(state))
        if err:
            raise DqError(f"cannot restore the state of {key!r}: {_lib.dq_err_str(err).decode()}")

    def clear_state(self) -> None:
        """Forgets every key's state."""
        _lib.dq_engine_state_clear(self._ptr)

    def totals(self) -> dict:
        t = _Totals()
        _lib.dq_engine_totals(self._ptr, ctypes.byref(t))
        return {"events": t.events, **{VERDICTS[i].lower(): t.verdicts[i] for i in range(3)},
                "reasons": {REASONS[i]: t.reasons[i] for i in range(1, _REASON_COUNT) if t.reasons[i]},
                "keys": t.keys, "anomalies_scored": t.anomalies_scored, "anomalies": t.anomalies}

    def __del__(self):
        if getattr(self, "_ptr", None):
            _lib.dq_engine_free(self._ptr)
            self._ptr = None


def evaluate_lines(contract_path: str, lines: Iterable[bytes], now: str | int | None = None) -> BatchResult:
    """Convenience: one engine, one batch."""
    return Engine(Contract(contract_path), now=now).evaluate(list(lines))
