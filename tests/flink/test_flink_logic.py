"""The Flink jobs' logic as plain functions, on in-memory rows (no Flink needed)."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "flink_jobs"))
import flink_stream_processing as day4  # noqa: E402


def test_parse_reading_keeps_usable_readings_only():
    good = '{"sensor_id":"sensor_1","timestamp":"2026-11-26T04:13:00Z","temperature":21.5,"humidity":40}'
    assert day4.parse_reading(good)["temperature"] == 21.5
    for bad in ['{"sensor_id":"sensor_1","timestamp":"2026-11-26T04:13:00Z","temperature":"N/A"}',
                '{"sensor_id":"sensor_1","timestamp":"2026-11-26T04:13:00Z","temperature":true}',
                '{"sensor_id":"sensor_1","temperature":21.5}', '{"sensor_id":"sens', '[1,2]', '']:
        assert day4.parse_reading(bad) is None, bad


def test_invalid_sensor_ids_are_dropped():
    assert day4.is_valid_sensor({"sensor_id": "sensor_42"})
    assert not day4.is_valid_sensor({"sensor_id": "sensor_invalid"})
    assert not day4.is_valid_sensor({"sensor_id": "SENSOR-X"})


def test_enrich_adds_metadata_and_derived_fields():
    metadata = {"sensor_7": {"location": "lab_0", "floor": "2", "model": "SHT31"}}
    row = day4.enrich({"sensor_id": "sensor_7", "temperature": 20.0, "humidity": 50.0}, metadata)
    assert (row["location"], row["floor"], row["model"]) == ("lab_0", 2, "SHT31")
    assert row["temperature_f"] == 68.0
    assert abs(row["dew_point_c"] - 9.3) < 0.1  # psychrometric tables: 20 °C at 50 % RH -> 9.3 °C
    unknown = day4.enrich({"sensor_id": "sensor_9999", "temperature": 30.0}, metadata)
    assert unknown["location"] == "unknown" and unknown["floor"] is None and "dew_point_c" not in unknown
    assert day4.dew_point_c(20.0, 0) is None and day4.dew_point_c(20.0, 100) == 20.0


def test_reference_table_covers_the_generator_sensors():
    metadata = day4.load_metadata()
    assert {f"sensor_{i}" for i in range(1000)} <= metadata.keys()


import dq_flink  # noqa: E402
from testenv import CONTRACT, event_bytes, load_cases  # noqa: E402

CASES = list(load_cases())


def test_validator_gives_the_vectors_verdicts_with_state_kept_per_key_as_flink_does():
    """Each event sees only its key's saved state, as in a Flink ValueState: same verdicts,
    reasons and cleaned values as one libdq engine (and as dq check)."""
    import json
    import dq
    validator = dq_flink.Validator(CONTRACT)
    for case in CASES:
        states = {}  # what Flink keeps: sensor key -> libdq state
        for i, (event, want) in enumerate(zip(case["events"], case["expect"])):
            raw = event_bytes(event)
            key = dq_flink.sensor_key(raw)
            validator.engine.clear_state()  # nothing but the key's saved state (a restarted worker)
            got, new_state = validator.validate(raw, states.get(key), dq.parse_time(case["now"]))
            if new_state is not None:
                states[key] = new_state
            where = f"{case['name']!r} event {i + 1}"
            assert got["verdict"] == want["verdict"] and sorted(got["reasons"]) == sorted(want["reasons"]), where
            if "clean" in want:
                row = json.loads(got["clean"])
                row.pop("dq")
                assert row == want["clean"], where


def test_validator_rows_for_cassandra_and_the_dead_letter_topic():
    import datetime as dt
    import json
    clean = (b'{"sensor_id":"sensor_1","timestamp":"2026-11-26T04:13:00.000Z","temperature":21.5,"humidity":40,'
             b'"dq":{"status":"FIXED","reasons":["WRONG_TYPE"],"findings":[]}}')
    row = dq_flink.clean_row(clean, "sensor_readings:1.0.0", 1795666380000)
    assert row["day"] == dt.date(2026, 11, 26) and row["ts"].hour == 4 and row["processed_by"] == "flink"
    assert row["dq_status"] == "FIXED" and row["dq_reasons"] == {"WRONG_TYPE"} and row["pressure"] is None
    raw = b'{"sensor_id":"sensor_9","temperature":"\xff"}'
    v, _ = dq_flink.Validator(CONTRACT).validate(raw, None, 0)
    v.update(raw=raw, key=b"sensor_9", headers={"dq.seq": b"7"}, partition=3, offset=41, kafka_ms=1795666380000)
    rej = dq_flink.reject_row(v, "sensor-topic", dt.date(2026, 11, 26))
    assert (rej["raw"], rej["sensor_id"], rej["source_offset"], rej["ts"]) == (raw, "sensor_9", 41, None)
    assert json.loads(rej["dq_annotation"])["findings"] == [{"reason": "INVALID_UTF8", "action": "reject"}]
    assert dq_flink.sensor_key(b'{"x":1}') == ""
    # The dead-letter record: what dq gate writes (docs/cli.md), input headers kept.
    key, value, headers, ts = dq_flink.dlq_record(v, "sensor-topic")
    assert (key, value, ts) == (b"sensor_9", raw, 1795666380000)
    assert headers == {"dq.seq": b"7", "dq.reasons": b"INVALID_UTF8", "dq.verdict": v["annotation"],
                       "dq.source.topic": b"sensor-topic", "dq.source.partition": b"3", "dq.source.offset": b"41",
                       "dq.contract": v["contract_version"].encode()}


def test_a_span_is_read_from_each_day_it_covers():
    """The tables are partitioned by day: the last 15 minutes at 00:05 are two partitions."""
    import datetime as dt
    from dq.stack import days
    utc = dt.timezone.utc
    at = dt.datetime(2026, 12, 8, 0, 5, tzinfo=utc)
    assert days(at - dt.timedelta(minutes=15), at) == [dt.date(2026, 12, 8), dt.date(2026, 12, 7)]
    assert days(at - dt.timedelta(minutes=4), at) == [dt.date(2026, 12, 8)]
    assert days(at - dt.timedelta(days=2), at) == [dt.date(2026, 12, 8), dt.date(2026, 12, 7), dt.date(2026, 12, 6)]
    # An aware time in another zone counts by its UTC day: 01:30 in UTC+2 is 23:30 the day before.
    assert days(dt.datetime(2026, 12, 8, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))), at) == \
        [dt.date(2026, 12, 8), dt.date(2026, 12, 7)]
    assert days(at, at - dt.timedelta(days=1)) == []


import flink_data_quality as day5  # noqa: E402


def test_day5_window_counts_and_row():
    acc = None
    for verdict, reasons in [("PASS", []), ("FIXED", ["MISSING_FIELD"]), ("REJECT", ["OUT_OF_RANGE"]),
                             ("PASS", ["SPIKE"])]:
        acc = day5.window_add(acc, verdict, reasons)
    merged = day5.window_merge(acc, day5.window_add(None, "REJECT", ["OUT_OF_RANGE", "GAP"]))
    assert (merged["events"], merged["REJECT"], merged["reasons"]["OUT_OF_RANGE"]) == (5, 2, 2)
    row = day5.metrics_row("sensor_1", 1795662000000, acc)
    assert (row["events"], row["pass"], row["fixed"], row["reject"]) == (4, 2, 1, 1)
    assert row["completeness"] == 0.75 and row["validity"] == 0.75
    assert row["date_hour"] == row["window_start"] and row["window_seconds"] == 3600
    assert '"kind":"window"' in day5.metrics_json(row)


def test_day5_event_time_leaves_out_what_cannot_be_placed():
    assert day5.event_time({"event_ms": 5, "reasons": []}) == 5
    assert day5.event_time({"event_ms": 5, "reasons": ["FUTURE_TIMESTAMP"]}) is None
    assert day5.event_time({"event_ms": None, "reasons": ["INVALID_TIMESTAMP"]}) is None


def test_day5_silence_reported_once_by_timer_or_by_the_next_reading():
    minute = 60_000
    d = day5.SilenceDetector()
    assert d.on_event("PASS", 0) == (None, 5 * minute + 1)
    assert d.on_event("PASS", 10_000) == (None, 10_000 + 5 * minute + 1)
    assert d.on_timer(5 * minute + 1, 6 * minute) is None            # superseded by the newer reading
    assert d.on_timer(10_000 + 5 * minute + 1, 6 * minute) == 10_000  # silent: reported
    assert d.on_event("PASS", 20 * minute)[0] is None                # already reported by the timer
    assert d.on_event("REJECT", 40 * minute) == (None, None)         # rejects do not count as heard
    assert d.on_event("PASS", 30 * minute)[0] == 20 * minute         # a 10 min gap no timer reported
    assert d.on_timer(30 * minute + 5 * minute + 1, day5.END_OF_TIME) is None  # end of input
    assert d.totals == {"events": 5, "rejected": 1}


def test_validator_anomaly_rows_for_flagged_readings():
    """The online detector's flag in libdq's annotation becomes a sensor_anomalies row."""
    validator, state = dq_flink.Validator(CONTRACT), None
    rows = []
    for i in range(40):  # 30 readings of warm-up, steady, then a 3 °C jump the rules let pass
        temperature = 20 + (0.1 if i % 2 else -0.1) + (3 if i == 39 else 0)
        raw = (f'{{"sensor_id":"sensor_5","timestamp":"2026-11-26T04:{i // 6:02d}:{i % 6 * 10:02d}.000Z",'
               f'"temperature":{temperature:.2f},"humidity":40}}').encode()
        got, state = validator.validate(raw, state, 1795700000000)
        rows.append(validator.anomaly_row(got["clean"], got["event_ms"], "flink"))
    assert rows[:39] == [None] * 39
    assert rows[39]["model"] == "online-z" and 1 > rows[39]["score"] >= rows[39]["threshold"] == 0.5
    assert (rows[39]["sensor_id"], rows[39]["temperature"], rows[39]["processed_by"]) == ("sensor_5", 23.1, "flink")


def test_batches_per_shard_with_state_restored_give_one_engines_verdicts():
    """The live job's shape: events keyed by shard of sensors, judged a few at a time in one
    libdq call each, each shard's sensors' states saved after every batch and restored into
    a fresh engine now and then (a restarted worker): same verdicts, reasons and clean
    output as one engine that saw every event in order."""
    import dq
    shards = 3
    for case in CASES:
        events = [event_bytes(e) for e in case["events"]]
        now = dq.parse_time(case["now"])
        want = dq.Engine(dq.Contract(CONTRACT), now=now).evaluate(events)
        saved = {s: {} for s in range(shards)}  # what each shard's MapState holds
        got, validator = {}, None
        for shard in range(shards):
            positions = [i for i, raw in enumerate(events) if dq_flink.shard_of(raw, shards) == shard]
            for batch_no, start in enumerate(range(0, len(positions), 2)):
                if batch_no % 2 == 0:  # a fresh worker: the shard's states come back from Flink state
                    validator = dq_flink.Validator(CONTRACT)
                    for sensor, state in saved[shard].items():
                        validator.restore_state(sensor, state)
                batch = positions[start:start + 2]
                outcomes, changed = validator.judge([events[i] for i in batch], now)
                saved[shard].update(changed)
                got.update(zip(batch, outcomes))
        assert sorted(got) == list(range(len(events)))
        for i in range(len(events)):
            assert (got[i]["verdict"], got[i]["reasons"], got[i]["clean"]) == \
                (want.verdicts[i], want.reasons[i], want.clean[i]), f"{case['where']} event {i + 1}"


def test_cassandra_rows_of_a_batch_and_live_windows():
    import datetime as dt
    validator = dq_flink.Validator(CONTRACT)
    raws = [b'{"sensor_id":"sensor_1","timestamp":"2026-11-26T04:%02d:00.000Z","temperature":21.5,"humidity":40}'
            % m for m in (10, 59)] + [b'{"sensor_id":"sensor_1","timestamp":"2026-11-26T05:00:00.000Z",'
                                     b'"temperature":99,"humidity":40}', b'not json']
    outcomes, changed = validator.judge(raws, 1795700000000)
    assert [v["verdict"] for v in outcomes] == ["PASS", "PASS", "REJECT", "REJECT"] and "sensor_1" in changed
    for i, v in enumerate(outcomes):
        v.update(raw=raws[i], key=None, headers={}, partition=0, offset=i, kafka_ms=0)
    rows = [r for v in outcomes for r in validator.cassandra_rows(v, "sensor-topic", dt.date(2026, 11, 26))]
    assert [t for t, _ in rows] == ["sensor_data", "sensor_data", "sensor_rejects", "sensor_rejects"]
    assert rows[0][1]["dq_status"] == "PASS" and rows[2][1]["source_offset"] == 2
    windows = {}
    touched = dq_flink.add_to_windows(windows, [(dq_flink.sensor_key(r), v) for r, v in zip(raws, outcomes)
                                               if dq_flink.sensor_key(r)])
    four, five = 1795665600000, 1795669200000  # 04:00 and 05:00 UTC
    assert touched == {("sensor_1", four), ("sensor_1", five)}
    assert windows["sensor_1"][four]["events"] == 2 and windows["sensor_1"][five]["REJECT"] == 1
    # A reading long after the 04:00 window closes it for good (it is no longer kept).
    later = [("sensor_1", {"event_ms": five + 3_600_000 + 60_000, "verdict": "PASS", "reasons": []})]
    dq_flink.add_to_windows(windows, later)
    assert four not in windows["sensor_1"] and five in windows["sensor_1"]
