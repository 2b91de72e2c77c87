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
