"""What another local user must not be able to do to the running stack (docs/security.md),
each checked against the live services."""
import collections
import http.client
import json
import os
import re
import socket
import ssl
import stat
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from conftest import ROOT, kafka, read_env, venv

RUN = ROOT / ".stack"


def test_jupyter_token_is_in_a_private_file_not_on_a_command_line():
    token = read_env()["JUPYTER_TOKEN"]
    pid = (RUN / "pids" / "jupyter.pid").read_text().strip()
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        cmdline = f.read()
    assert token.encode() not in cmdline
    conf = RUN / "conf" / "jupyter" / "jupyter_server_config.json"
    assert token in conf.read_text() and stat.S_IMODE(os.stat(conf).st_mode) == 0o600
    # and the token is what lets a client in
    try:
        urllib.request.urlopen("http://127.0.0.1:8888/api/sessions", timeout=10)
        raise AssertionError("JupyterLab answered without the token")
    except urllib.error.HTTPError as err:
        assert err.code == 403
    req = urllib.request.Request("http://127.0.0.1:8888/api/sessions", headers={"Authorization": f"token {token}"})
    assert urllib.request.urlopen(req, timeout=10).status == 200


def http_status(url: str, method: str = "GET", data: bytes | None = None, **headers) -> int:
    """The HTTP status a request is answered with (errors included)."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method, headers=headers, data=data),
                                    timeout=10) as res:
            return res.status
    except urllib.error.HTTPError as err:
        return err.code


def test_flinks_web_ui_and_rest_api_need_the_login():
    """flink-ui (:8081) passes a call on to the JobManager only with the login; with it, no
    jar uploads (web.submit.enable: false), no change from another origin's page, no other
    Host (DNS rebinding), and CORS for its own origin only."""
    from dq.stack import FLINK, flink_headers
    login = flink_headers()
    wrong = flink_headers({"FLINK_PASSWORD": "not-the-password"})
    assert http_status(FLINK + "/overview") == 401
    assert http_status(FLINK + "/overview", **wrong) == 401
    assert http_status(FLINK + "/jobs", "POST", b"{}") == 401
    assert http_status(FLINK + "/overview", **login) == 200
    assert http_status(FLINK + "/jars/upload", "POST", b"{}", **login) == 404
    assert http_status(FLINK + "/jobs/00000000000000000000000000000000?mode=cancel", "PATCH", b"{}",
                       Origin="http://evil.example", **login) == 403
    assert http_status(FLINK + "/overview", Host="evil.example:8081", **login) == 421
    req = urllib.request.Request(FLINK + "/config", headers={"Origin": "http://evil.example", **login})
    with urllib.request.urlopen(req, timeout=10) as res:
        assert res.headers.get("Access-Control-Allow-Origin") in (None, "http://127.0.0.1:8081")


def tls_session(port: int, certificate: Path | None) -> str:
    """'open' when a TLS connection to 127.0.0.1:port, made with that certificate (a PEM file
    of key and certificate) or none, is accepted and stays open; else what ended it."""
    from dq.stack import FLINK_TLS
    ctx = ssl.create_default_context(cafile=str(FLINK_TLS / "flink.crt"))
    if certificate:
        ctx.load_cert_chain(certificate)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
                ctx.wrap_socket(raw, server_hostname="127.0.0.1") as conn:
            conn.settimeout(2)
            try:  # (in TLS 1.3 a server that wants a certificate would say so after the handshake)
                return "closed" if conn.recv(1) == b"" else "data"
            except TimeoutError:
                return "open"
    except OSError as err:  # ssl.SSLError included
        return f"{type(err).__name__}: {err}"


def test_flinks_rest_api_rpc_and_blob_ports_take_only_the_clusters_certificate(tmp_path):
    """Without the cluster's certificate (.stack/conf/flink/tls, 0700) no local user reaches
    the JobManager's REST API (where a job graph is code that runs as the stack's user), its
    RPC or blob server, or the TaskManager's RPC: mutual TLS on each. A certificate of one's
    own does not do either."""
    from dq.stack import FLINK_TLS
    assert stat.S_IMODE(os.stat(FLINK_TLS).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(RUN / "conf" / "flink" / "config.yaml").st_mode) == 0o600
    own = tmp_path / "own.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=dq-flink",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", own, "-out", own],
                   capture_output=True, check=True)
    ports = {"REST": 8091, "JobManager RPC": 6123, "blob server": 6124, "TaskManager RPC": 6122}
    answers = {name: [tls_session(port, cert) for cert in (FLINK_TLS / "flink.pem", None, own)]
               for name, port in ports.items()}
    print(answers)
    assert all(theirs == "open" and "open" not in others for theirs, *others in answers.values()), answers
    try:  # and plain HTTP gets no answer from the REST port
        urllib.request.urlopen("http://127.0.0.1:8091/overview", timeout=10)
        raise AssertionError("the JobManager answered plain HTTP")
    except (urllib.error.URLError, ConnectionError, http.client.HTTPException):
        pass


def test_secrets_file_is_private():
    env = ROOT / ".env"
    assert stat.S_IMODE(os.stat(env).st_mode) == 0o600
    assert {"CASSANDRA_PASSWORD", "JUPYTER_TOKEN", "SPARK_AUTH_SECRET", "KAFKA_ADMIN_PASSWORD",
            "KAFKA_GENERATOR_PASSWORD", "KAFKA_VALIDATOR_PASSWORD", "KAFKA_READER_PASSWORD", "FLINK_PASSWORD",
            "FLINK_KEYSTORE_PASSWORD"} <= read_env().keys()


def test_mlflow_takes_no_run_and_serves_nothing_without_its_login():
    """Anyone on the machine could otherwise log runs or register the model the live
    pipeline scores with."""
    from dq.stack import MLFLOW_URI, MLFLOW_USER, mlflow_headers

    def create_experiment(headers):
        return http_status(MLFLOW_URI + "/api/2.0/mlflow/experiments/create", "POST",
                           b'{"name": "security-check-%d"}' % os.getpid(),
                           **{"Content-Type": "application/json", **headers})

    wrong = mlflow_headers({"MLFLOW_PASSWORD": "not-the-password"})
    assert create_experiment({}) == 401 and create_experiment(wrong) == 401
    assert create_experiment(mlflow_headers()) == 200
    for path in ("/version", "/api/2.0/mlflow/experiments/search?max_results=1"):
        try:
            urllib.request.urlopen(MLFLOW_URI + path, timeout=10)
            raise AssertionError(f"MLflow answered {path} without a login")
        except urllib.error.HTTPError as err:
            assert err.code == 401
    assert urllib.request.urlopen(MLFLOW_URI + "/health", timeout=10).status == 200  # readiness needs none
    conf = RUN / "conf" / "mlflow" / "auth.ini"
    assert f"admin_username = {MLFLOW_USER}" in conf.read_text() and stat.S_IMODE(os.stat(conf).st_mode) == 0o600


def test_spark_takes_no_job_without_the_secret(tmp_path):
    """The cluster authenticates its clients (spark.authenticate): a submission from a
    configuration without the secret - another local user's - is turned away, one with it runs."""
    own = RUN / "conf" / "spark" / "spark-defaults.conf"
    assert stat.S_IMODE(os.stat(own).st_mode) == 0o600 and read_env()["SPARK_AUTH_SECRET"] in own.read_text()
    (tmp_path / "spark-defaults.conf").write_text(
        "".join(line + "\n" for line in own.read_text().splitlines() if not line.startswith("spark.authenticate")))
    job = tmp_path / "count.py"
    job.write_text("from pyspark.sql import SparkSession\n"
                   "print('COUNT', SparkSession.builder.getOrCreate().range(10).count())\n")
    spark_submit = venv("spark") / "lib" / "python3.11" / "site-packages" / "pyspark" / "bin" / "spark-submit"
    base = {"SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": str(venv("spark") / "bin/python")}
    stranger_name, owner_name = (f"{who}-{uuid.uuid4().hex[:8]}" for who in ("stranger", "owner"))
    stranger_log = tmp_path / "stranger.log"
    with stranger_log.open("w") as log:
        stranger = subprocess.Popen([spark_submit, "--master", "spark://127.0.0.1:7077", "--name", stranger_name, job],
                                    stdout=log, stderr=log, env={**os.environ, **base, "SPARK_CONF_DIR": str(tmp_path)})
    try:
        owner = subprocess.run([spark_submit, "--master", "spark://127.0.0.1:7077", "--name", owner_name, job],
                               capture_output=True, text=True, timeout=240,
                               env={**os.environ, **base, "SPARK_CONF_DIR": str(own.parent)})
        # The master turns the stranger's first registration away at once (it would try twice
        # more, 20 s apart, then give up): seen, it is stopped rather than waited for.
        deadline = time.time() + 60
        while "Expected SaslMessage" not in stranger_log.read_text() and stranger.poll() is None \
                and time.time() < deadline:
            time.sleep(1)
    finally:
        stranger.kill()
        stranger.wait()
    assert "COUNT 10" in owner.stdout, owner.stderr[-2000:]
    said = stranger_log.read_text()
    assert "Expected SaslMessage" in said and "COUNT 10" not in said, said[-3000:]
    master = json.loads(urllib.request.urlopen("http://127.0.0.1:8080/json/", timeout=10).read())
    apps = {app["name"] for app in master["activeapps"] + master["completedapps"]}
    assert owner_name in apps and stranger_name not in apps, apps


def test_no_service_holds_a_password_in_its_environment():
    """Secrets reach the process that needs them (a 0600 file, one command's environment),
    not the environment of every service: Cassandra's, Kafka's, MLflow's and Flink's passwords."""
    passwords = [v.encode() for k, v in read_env().items()
                 if k in ("CASSANDRA_PASSWORD", "MLFLOW_PASSWORD") or k.startswith(("KAFKA_", "FLINK_"))]
    assert len(passwords) == 8
    holders = []
    for pid_file in (RUN / "pids").glob("*.pid"):
        pid = pid_file.read_text().strip()
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                environ = f.read()
        except FileNotFoundError:
            continue  # a service that is not running
        holders += [pid_file.stem for p in passwords if p in environ]
    assert holders == []


def stack_processes() -> dict[int, str]:
    """{pid: service} of every running service and every process it started (PyFlink's
    Python workers, Spark's executors...)."""
    parents = {}
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        parents[int(stat_file.parent.name)] = int(fields[1])
    owner = {int(f.read_text()): f.stem for f in (RUN / "pids").glob("*.pid") if int(f.read_text()) in parents}
    changed = True
    while changed:
        changed = False
        for pid, parent in parents.items():
            if pid not in owner and parent in owner:
                owner[pid] = owner[parent]
                changed = True
    return owner


def test_every_listening_port_of_the_stack_is_on_loopback():
    """No process of the stack listens beyond 127.0.0.1, the ports that move with each job
    included: the gRPC servers through which a PyFlink job's Python worker talks to the
    TaskManager (six per worker), which flink-python binds on every interface until
    stack/patch_flink_python.py makes it honour the loopback address it is given."""
    owner = stack_processes()
    listening = collections.defaultdict(list)
    for line in subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True, check=True).stdout.splitlines():
        address = line.split()[3]
        for pid in map(int, re.findall(r"pid=(\d+)", line)):
            if pid in owner:
                listening[owner[pid]].append(address)
    print({service: len(addresses) for service, addresses in listening.items()})
    assert len(listening["flink-taskmanager"]) >= 6, "no PyFlink job's worker servers to check: is the live writer running?"
    wide = {service: [a for a in addresses if not a.rsplit(":", 1)[0] in ("127.0.0.1", "[::ffff:127.0.0.1]")]
            for service, addresses in listening.items()}
    assert {service: addresses for service, addresses in wide.items() if addresses} == {}


# ---------------------------------------------------------------- Kafka: logins and ACLs


def kafka_error(make_client, action) -> str:
    """The error Kafka answers an action with ('' when it is allowed), given a client factory."""
    from confluent_kafka import KafkaException
    client = make_client()
    try:
        action(client)
        return ""
    except KafkaException as err:
        return err.args[0].name()


def produce_to(topic, settings) -> str:
    """'' when a record reaches topic as the given client, else Kafka's error name."""
    from confluent_kafka import KafkaError, Producer
    errors = []
    producer = Producer({**settings, "message.timeout.ms": 10000})
    producer.produce(topic, b'{"forged":true}', headers={"dq.verdict": b'{"status":"PASS"}'},
                     on_delivery=lambda err, _m: errors.append(err))
    producer.flush(20)
    assert errors, "no delivery report"
    return errors[0].name() if isinstance(errors[0], KafkaError) else ""


def test_kafka_refuses_clients_without_a_login():
    from confluent_kafka.admin import AdminClient
    for settings in ({"bootstrap.servers": "127.0.0.1:9092"},  # no login at all
                     {**kafka("reader"), "sasl.password": "guess"},  # a wrong password
                     {**kafka("admin"), "sasl.mechanism": "SCRAM-SHA-512"}):  # admin has no SCRAM login
        assert kafka_error(lambda s=settings: AdminClient({**s, "socket.timeout.ms": 5000}),
                           lambda c: c.list_topics(timeout=5)) != "", settings.get("sasl.username")


def test_only_the_generator_writes_readings_and_only_the_validator_writes_verdicts(make_topic):
    """A local user with the reader's login (or any other but the right one) cannot forge clean
    data, dead letters, or the gate's state, which it reloads on every assignment."""
    assert produce_to("sensor-clean", kafka("reader")) == "TOPIC_AUTHORIZATION_FAILED"
    assert produce_to("dq-gate-state", kafka("reader")) == "TOPIC_AUTHORIZATION_FAILED"
    assert produce_to("sensor-clean", kafka("generator")) == "TOPIC_AUTHORIZATION_FAILED"
    assert produce_to("sensor-dlq", kafka("generator")) == "TOPIC_AUTHORIZATION_FAILED"
    assert produce_to("sensor-topic", kafka("validator")) == "TOPIC_AUTHORIZATION_FAILED"
    assert produce_to("sensor-topic", kafka("reader")) == "TOPIC_AUTHORIZATION_FAILED"
    # and each may do its own part (a topic of the test's: nothing lands in the pipeline's)
    assert produce_to(make_topic(), kafka("validator")) == ""


def test_a_reader_cannot_join_the_pipelines_consumer_groups():
    """Joining dq-gate would take partitions from the gate and let the reader commit offsets
    past readings nobody validated."""
    from confluent_kafka import Consumer
    c = Consumer(kafka("reader", **{"group.id": "dq-gate", "session.timeout.ms": 6000}))
    errors = []
    c.subscribe(["sensor-topic"], on_assign=lambda *_: errors.append("assigned"))
    deadline = __import__("time").time() + 20
    while not errors and __import__("time").time() < deadline:
        m = c.poll(1)
        if m is not None and m.error():
            errors.append(m.error().name())
    c.close()
    assert errors and errors[0] == "GROUP_AUTHORIZATION_FAILED", errors


def test_kafka_logins_are_private_files():
    from dq.stack import KAFKA_PRINCIPALS, kafka_login_file
    assert stat.S_IMODE(os.stat(RUN / "kafka").st_mode) == 0o700
    for principal in KAFKA_PRINCIPALS:
        path = kafka_login_file(principal)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert f"sasl.password={read_env()[f'KAFKA_{principal.upper()}_PASSWORD']}" in path.read_text()
    server = RUN / "conf" / "kafka" / "server.properties"
    assert stat.S_IMODE(os.stat(server).st_mode) == 0o600
    for pid_file in (RUN / "pids").glob("*.pid"):  # no service has a Kafka password on its command line
        with open(f"/proc/{pid_file.read_text().strip()}/cmdline", "rb") as f:
            cmdline = f.read().decode(errors="replace")
        assert not any(v in cmdline for k, v in read_env().items() if k.startswith("KAFKA_")), pid_file.name
