"""Creates the project's Kafka topics with their intended settings (missing ones), and sets
those settings on topics that exist (an older stack's)."""
import sys

from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic,
                                   ResourceType)

# A dead letter is the input's bytes plus the verdict in headers: up to about twice the
# largest record the broker takes (1 MB); dq gate produces up to this much.
DEAD_LETTER_MAX_BYTES = str(4 << 20)

TOPICS = {
    "sensor-topic": (4, {}),                 # raw readings from dq gen, key = sensor_id
    "sensor-clean": (4, {}),                 # PASS/FIXED events, canonical JSON
    "sensor-dlq": (4, {"retention.ms": str(7 * 86400000),     # rejects: original bytes + reason headers
                       "max.message.bytes": DEAD_LETTER_MAX_BYTES}),
    "dq-metrics": (1, {}),                   # windowed quality metrics
    "sensor-anomalies": (4, {}),             # scored anomalies
    "dq-gate-state": (1, {"cleanup.policy": "compact", "segment.ms": "600000",
                          "min.cleanable.dirty.ratio": "0.1"}),  # dq gate's per-sensor state and positions
    "sensor-enriched": (4, {}),              # the day-4 Flink job's output
}


def main():
    admin = AdminClient({"bootstrap.servers": "127.0.0.1:9092"})
    existing = set(admin.list_topics(timeout=10).topics)
    new = [NewTopic(name, num_partitions=p, replication_factor=1, config=cfg)
           for name, (p, cfg) in TOPICS.items() if name not in existing]
    for name, future in admin.create_topics(new).items() if new else []:
        try:
            future.result()
        except Exception as err:  # noqa: BLE001 - report any broker refusal with its topic
            sys.exit(f"kafka_topics: cannot create {name}: {err}")
    settings = [ConfigResource(ResourceType.TOPIC, name, incremental_configs=[
        ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in cfg.items()])
        for name, (_, cfg) in TOPICS.items() if name in existing and cfg]
    for resource, future in admin.incremental_alter_configs(settings).items() if settings else []:
        try:
            future.result()
        except Exception as err:  # noqa: BLE001
            sys.exit(f"kafka_topics: cannot set the settings of {resource.name}: {err}")
    print(f"kafka_topics: {len(TOPICS)} topics present ({len(new)} created)")


if __name__ == "__main__":
    main()
