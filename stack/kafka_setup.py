"""Sets up the stack's Kafka as admin: the project's topics with their intended settings
(missing ones created, existing ones given those settings), the SCRAM logins of the
principals (passwords from .env) and exactly the ACLs below (docs/security.md).
With --topic NAME (make topic): only that topic, a learner's own, created if missing."""
import argparse
import sys

from confluent_kafka.admin import (AclBinding, AclBindingFilter, AclOperation, AclPermissionType, AdminClient,
                                   AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic, ResourcePatternType,
                                   ResourceType, ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion)

from dq.stack import DEAD_LETTER_MAX_BYTES, KAFKA_PRINCIPALS, kafka_login, read_env

TOPICS = {
    "sensor-topic": (4, {}),                 # raw readings from dq gen, key = sensor_id
    "sensor-clean": (4, {}),                 # PASS/FIXED events, canonical JSON
    "sensor-dlq": (4, {"retention.ms": str(7 * 86400000),     # rejects: original bytes + reason headers
                       "max.message.bytes": str(DEAD_LETTER_MAX_BYTES)}),
    "dq-metrics": (1, {}),                   # windowed quality metrics
    "sensor-anomalies": (4, {}),             # scored anomalies
    "dq-gate-state": (1, {"cleanup.policy": "compact", "segment.ms": "600000",
                          "min.cleanable.dirty.ratio": "0.1"}),  # dq gate's per-sensor state and positions
    "sensor-enriched": (4, {}),              # the day-4 Flink job's output
}

ALLOW, DENY = AclPermissionType.ALLOW, AclPermissionType.DENY
LITERAL, PREFIXED = ResourcePatternType.LITERAL, ResourcePatternType.PREFIXED
TOPIC, GROUP, TXN = ResourceType.TOPIC, ResourceType.GROUP, ResourceType.TRANSACTIONAL_ID
R, W, D, C = AclOperation.READ, AclOperation.WRITE, AclOperation.DESCRIBE, AclOperation.CREATE

# (principal, resource type, name, pattern, operations, permission). A DENY wins over any ALLOW.
# The pipeline's consumer groups start with "dq-" (dq-gate, dq-live): a reader may not join
# them (it would take partitions from the gate and commit offsets it has not validated).
ACLS = [
    ("generator", TOPIC, "sensor-topic", LITERAL, (W, D), ALLOW),
    ("validator", TOPIC, "*", LITERAL, (R, W, D, C), ALLOW),   # C: dq gate creates its state topic if missing
    ("validator", TOPIC, "sensor-topic", LITERAL, (W,), DENY),  # the generator's alone
    ("validator", GROUP, "*", LITERAL, (R,), ALLOW),
    ("validator", TXN, "*", LITERAL, (W, D), ALLOW),           # dq gate's state, Flink's exactly-once sinks
    ("reader", TOPIC, "*", LITERAL, (R, D), ALLOW),
    ("reader", GROUP, "*", LITERAL, (R, D), ALLOW),
    ("reader", GROUP, "dq-", PREFIXED, (R,), DENY),
]


def bindings() -> set[AclBinding]:
    return {AclBinding(restype, name, pattern, f"User:{who}", "*", op, permission)
            for who, restype, name, pattern, ops, permission in ACLS for op in ops}


def wait(futures: dict, what: str) -> None:
    for key, future in futures.items():
        try:
            future.result(30)
        except Exception as err:  # noqa: BLE001 - report any broker refusal with what it was about
            sys.exit(f"kafka_setup: {what} {key}: {err}")


def setup_topics(admin: AdminClient) -> int:
    existing = set(admin.list_topics(timeout=10).topics)
    new = [NewTopic(name, num_partitions=p, replication_factor=1, config=cfg)
           for name, (p, cfg) in TOPICS.items() if name not in existing]
    if new:
        wait(admin.create_topics(new), "cannot create topic")
    settings = [ConfigResource(ResourceType.TOPIC, name, incremental_configs=[
        ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in cfg.items()])
        for name, (_, cfg) in TOPICS.items() if name in existing and cfg]
    if settings:
        wait(admin.incremental_alter_configs(settings), "cannot set the settings of")
    return len(new)


def setup_logins(admin: AdminClient, secrets: dict) -> None:
    """Each principal's SCRAM credential from its .env password (set again each time: a
    changed password takes effect)."""
    upserts = [UserScramCredentialUpsertion(who, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192),
                                            kafka_login(who, secrets)["sasl.password"].encode())
               for who in KAFKA_PRINCIPALS if who != "admin"]
    wait(admin.alter_user_scram_credentials(upserts), "cannot set the login of")


def setup_acls(admin: AdminClient) -> tuple[int, int]:
    """Exactly ACLS: missing bindings created, others of our principals deleted."""
    wanted = bindings()
    everything = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,
                                  AclOperation.ANY, AclPermissionType.ANY)
    present = set(admin.describe_acls(everything).result(30))
    ours = {f"User:{who}" for who in KAFKA_PRINCIPALS}
    stale = [AclBindingFilter(b.restype, b.name, b.resource_pattern_type, b.principal, b.host, b.operation,
                              b.permission_type) for b in present - wanted if b.principal in ours]
    if stale:
        wait(admin.delete_acls(stale), "cannot delete the ACL")
    missing = list(wanted - present)
    if missing:
        wait(admin.create_acls(missing), "cannot create the ACL")
    return len(missing), len(stale)


def own_topic(admin: AdminClient, name: str, partitions: int) -> None:
    if name in admin.list_topics(timeout=10).topics:
        print(f"kafka_setup: topic {name} exists")
        return
    wait(admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)]), "cannot create topic")
    print(f"kafka_setup: topic {name} created ({partitions} partitions); write it as admin: "
          f"--kafka-config .stack/kafka/admin.properties")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--topic", help="create only this topic (a topic of your own), if missing")
    ap.add_argument("--partitions", type=int, default=4)
    args = ap.parse_args()
    secrets = read_env()
    admin = AdminClient(kafka_login("admin", secrets))
    if args.topic:
        own_topic(admin, args.topic, args.partitions)
        return
    created = setup_topics(admin)
    setup_logins(admin, secrets)
    added, removed = setup_acls(admin)
    print(f"kafka_setup: {len(TOPICS)} topics present ({created} created); logins of "
          f"{', '.join(p for p in KAFKA_PRINCIPALS if p != 'admin')}; {len(bindings())} ACLs "
          f"({added} added, {removed} removed)")


if __name__ == "__main__":
    main()
