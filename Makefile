# Real-time data quality for sensor streams: build, test, fuzz.
# `make help` lists the targets.

SHELL      := /bin/bash
MAKEFLAGS  += --no-print-directory
JOBS       ?= 2
DQ_CACHE   := $(shell . stack/lib.sh && echo $$DQ_CACHE)
CORE_VENV  := $(DQ_CACHE)/venv/core
PYTEST     := $(CORE_VENV)/bin/python -m pytest
BENCH_PY   := $(DQ_CACHE)/venv/bench/bin/python
FUZZ_SECONDS ?= 600
# The Python test folders by subject, and the venv each runs in (tests/ml: ml; tests/spark: spark;
# tests/integration: core, against the stack).
CORE_TESTS := tests/contract tests/cli tests/docs tests/dashboards tests/flink course/exercises
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))

.PHONY: up down status logs clean install env compose-up compose-down compose test-compose lock topic test-integration test-long drills reconcile soak data exercise help deps build build-asan build-fuzz test check test-unit test-asan test-python test-ml test-spark fuzz fuzz-short clean-build \
        flink-submit spark-submit analyze train eval-anomaly docs-plots model-service bench bench-anomaly bench-flink bench-spark bench-check bench-parsers bench-bindings bench-gate bench-sensors

help:            ## this list
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/' | expand -t 18

up:              ## install what is missing, start the whole stack, create topics and schema (SERVICE=kafka: one)
	@stack/up.sh $(SERVICE)

down:            ## stop what `make up` started, data kept (SERVICE=cassandra: one)
	@stack/down.sh $(SERVICE)

status:          ## health, address, memory and log of every service
	@stack/status.sh || true

logs:            ## the last lines of every service log (make logs SERVICE=kafka for one)
	@for f in $(if $(SERVICE),.stack/logs/$(SERVICE).log,.stack/logs/*.log); do echo "== $$f"; tail -n 15 $$f; done

clean: down      ## stop the stack and delete its data, logs and .env (downloads stay cached)
	rm -rf .stack .env

install:         ## install everything the stack needs without starting it
	@stack/install.sh

env:             ## the stack's secrets into .env (0600), once: make up does it; the Docker path's first step
	@stack/env.sh

compose-up:      ## the Docker path: build the image, start docker-compose.yml, wait until healthy (podman where no Docker engine runs; docs/docker.md)
	@stack/containers.sh up

compose-down:    ## stop and remove the Docker path's containers, data kept (ARGS=-v: and its volumes)
	@stack/containers.sh down $(ARGS)

compose:         ## docker compose on the Docker path, on any engine: make compose ARGS="ps" (or "logs dq-gate", "stop kafka"...)
	@stack/containers.sh compose $(ARGS)

lock:            ## re-pin every Python package of every venv (after changing stack/requirements/*.txt)
	@for v in core flink spark ml bench; do rm -f stack/requirements/$$v.lock; stack/venv.sh $$v >/dev/null && \
		{ echo "# Every package of the '$$v' virtual environment, pinned (pip freeze of a working install)."; \
		  echo "# Used as constraints with $$v.txt; regenerate with: make lock"; \
		  $(DQ_CACHE)/venv/$$v/bin/pip freeze --exclude-editable; } > stack/requirements/$$v.lock.new \
		&& mv stack/requirements/$$v.lock.new stack/requirements/$$v.lock; done

deps:            ## install missing Debian packages and the test virtual environment
	@stack/deps.sh

# librdkafka for the dq tool (stack/librdkafka.sh builds it once into the cache).
RDKAFKA = -DDQ_RDKAFKA_PREFIX=$$(stack/librdkafka.sh)

build:           ## libdq, libdq.so and the dq tool in build/
	@cmake -S . -B build -DDQ_WERROR=ON $(RDKAFKA) > /dev/null
	@cmake --build build -j $(JOBS)

build-asan:      ## the same with AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/
	@cmake -S . -B build-asan -DDQ_SANITIZE=ON -DDQ_WERROR=ON -DCMAKE_BUILD_TYPE=Debug $(RDKAFKA) > /dev/null
	@cmake --build build-asan -j $(JOBS)

build-fuzz: build ## libFuzzer targets (clang) in build-fuzz/ (the seed corpus uses build/libdq.so)
	@CC=clang cmake -S . -B build-fuzz -DDQ_FUZZ=ON -DDQ_SANITIZE=ON $(RDKAFKA) > /dev/null
	@cmake --build build-fuzz -j $(JOBS) --target fuzzers
	@$(CORE_VENV)/bin/python tests/fuzz/seed_corpus.py build-fuzz/corpus

test: deps build build-asan ## everything below, from a fresh clone
	@for v in core ml spark; do stack/venv.sh $$v > /dev/null; done  # made one at a time: the suites below share them
	@# No stack: two at a time (the C suites mostly wait on the mock broker), ~5 min less than one by one
	@$(MAKE) --no-print-directory -j2 -O test-python test-unit test-asan fuzz-short test-ml test-spark
	@$(MAKE) --no-print-directory test-integration test-compose
	@echo "make test: all suites passed"

check: build build-asan test-unit test-asan test-python ## the contributor's loop: build, C unit tests, sanitizers, Python tests (no stack; a minute or two)
	@echo "make check: passed"

test-unit: build      ## C unit tests
	@cd build && ctest --output-on-failure

test-asan: build-asan ## C unit tests and the vectors through dq check, under ASan + UBSan
	@stack/venv.sh core > /dev/null
	@cd build-asan && ctest --output-on-failure
	@DQ_BIN=build-asan/dq $(PYTEST) -q -k dq_check tests/contract/test_vectors.py

test-python: build    ## Python bindings, the vectors through dq check and the bindings, the exercises' solutions
	@stack/venv.sh core > /dev/null
	@stack/venv.sh ml > /dev/null  # the exercises of days 16 on train models
	@stack/venv.sh spark > /dev/null  # those of days 6-9 run the Spark jobs in a local Spark
	@DQ_EXERCISES=solutions $(PYTEST) -q -m "not stack" $(CORE_TESTS)  # the exercises' stack checks: test-integration

test-ml: build        ## anomaly models: export parity with scikit-learn, scoring in libdq (the ml venv)
	@stack/venv.sh ml > /dev/null
	@$(DQ_CACHE)/venv/ml/bin/python -m pytest -q tests/ml

test-spark: build     ## the Spark jobs' logic on in-memory DataFrames, in a local Spark (the spark venv)
	@stack/venv.sh spark > /dev/null
	@JAVA_HOME=$$(. stack/lib.sh && find_java17) $(DQ_CACHE)/venv/spark/bin/python -m pytest -q -p no:cacheprovider -W ignore::DeprecationWarning tests/spark

# A stack that make test starts runs its generator at 200 events/s, not make up's 1,000: the
# background pipeline then takes a fifth of the CPU rather than ~45 % of this 2-core machine,
# and the Spark jobs run 20-30 % faster; the live writer's own test drives make up's 1,000 events/s.
test-integration: build ## the native stack: brought up if needed (and stopped again if it was down); the exercises' checks that need it
	@DQ_GEN_RATE=$${DQ_GEN_RATE:-200} stack/with-stack.sh sh -c '$(PYTEST) -q --durations=40 -m "not long" tests/integration && DQ_EXERCISES=solutions $(PYTEST) -q -m "stack and not drill" course/exercises'

test-compose: build   ## the Docker path end to end: image built, docker-compose.yml up, the pipeline, course jobs and dashboards tested, all removed (volumes too)
	@stack/venv.sh core > /dev/null
	@trap 'stack/containers.sh down -v' EXIT; stack/containers.sh up && $(PYTEST) -q -p no:cacheprovider tests/compose tests/integration/test_dashboards.py

exercise: build  ## check your exercises of one day: make exercise DAY=3 (where yours still say TODO, the published solution runs)
	@test -n "$(DAY)" || { echo "usage: make exercise DAY=<1-20>"; exit 2; }
	@for v in core ml spark; do stack/venv.sh $$v > /dev/null; done
	@d=course/exercises/day$$(printf %02d $(DAY)); test -d $$d || { echo "day $(DAY) has no exercises with a check yet"; exit 2; }; \
		$(PYTEST) -q -s -p no:cacheprovider $$d

data:            ## the public data sets the course uses, into data/, checked (DQ_DATA_DIR: a local copy; SETS=skab: one)
	@python3 stack/data.py $(SETS)

reconcile:       ## every reading of sensor-topic's last MINUTES (default 10) is one Cassandra row, with dq gate's verdict
	@$(CORE_VENV)/bin/python stack/reconcile.py --minutes $(or $(MINUTES),10)

test-long: build ## the tests too long for make test (marked long): day 19's benchmark commands, a Spark driver killed, Kafka under a Spark job, Kafka's disk full (~20 min)
	@stack/with-stack.sh $(PYTEST) -q -m long tests/integration

drills: build    ## fault drills: Cassandra down a minute, a Kafka restart, the live writer stopped and resumed (part of make test); Kafka under a Spark job, Kafka's disk full (~12 min)
	@stack/with-stack.sh $(PYTEST) -q -k drill tests/integration/test_live_pipeline.py tests/integration/test_spark_jobs.py \
		tests/integration/test_kafka_disk_full.py

fuzz-short: build-fuzz ## 20 s of each fuzz target (part of make test)
	@for t in $(FUZZ_TARGETS); do build-fuzz/fuzz_$$t -max_total_time=20 -max_len=8192 build-fuzz/corpus/$$t 2>&1 \
		| tail -1 | sed "s/^/fuzz_$$t: /"; test $${PIPESTATUS[0]} -eq 0 || exit 1; done

fuzz: build-fuzz      ## long fuzz runs: FUZZ_SECONDS per target (default 600)
	@for t in $(FUZZ_TARGETS); do \
		build-fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=70000 build-fuzz/corpus/$$t || exit 1; done

topic:           ## a Kafka topic of your own: make topic NAME=gaps [PARTITIONS=4] (created as admin)
	@test -n "$(NAME)" || { echo "usage: make topic NAME=<topic> [PARTITIONS=4]"; exit 2; }
	@$(CORE_VENV)/bin/python stack/kafka_setup.py --topic $(NAME) --partitions $(or $(PARTITIONS),4)

flink-submit:    ## a PyFlink job on the cluster: make flink-submit JOB=flink_stream_processing [ARGS="--bounded"]
	@test -n "$(JOB)" || { echo "usage: make flink-submit JOB=<a job in flink_jobs/, without .py> [ARGS=...]"; exit 2; }
	@stack/flink-submit.sh flink_jobs/$(JOB).py $(ARGS)

spark-submit:    ## a PySpark job on the cluster: make spark-submit JOB=spark_to_cassandra [ARGS="--bounded"]
	@test -n "$(JOB)" || { echo "usage: make spark-submit JOB=<a job in spark_jobs/, without .py> [ARGS=...]"; exit 2; }
	@stack/spark-submit.sh spark_jobs/$(JOB).py $(ARGS)

analyze: build       ## the course's SQL (analysis/*.sql) with Spark SQL over Cassandra [QUERY=07] [AS_OF='2026-11-26 12:00:00']
	@stack/status.sh --quiet || stack/up.sh
	@stack/spark-submit.sh spark_jobs/spark_analysis.py $(QUERY) $(if $(AS_OF),--as-of "$(AS_OF)")

bench: bench-check bench-sensors bench-parsers bench-bindings bench-gate bench-anomaly ## every benchmark (bench-flink and bench-spark apart: they need the stack)

train: build         ## anomaly models on generated history (EVENTS=100000, DEFECTS=as dq gen --defects): MLflow runs; a forest that beats the online detector is registered and written to models/sensor-anomaly.dqm
	@stack/up.sh mlflow >/dev/null
	@mkdir -p build/train && build/dq gen --count $(or $(EVENTS),100000) --seed 11 --start 2026-01-01T00:00:00Z \
		$(if $(DEFECTS),--defects $(DEFECTS)) --truth build/train/truth.csv -q > build/train/history.ndjson
	@$(DQ_CACHE)/venv/ml/bin/python ml/train.py --history build/train/history.ndjson --truth build/train/truth.csv

model-service: build ## the anomaly model over HTTP on 127.0.0.1:8765 (MODEL=models/sensor-anomaly.dqm; make train first)
	@stack/venv.sh ml >/dev/null
	@$(DQ_CACHE)/venv/ml/bin/python ml/model_service.py $(if $(MODEL),--model $(MODEL))

eval-anomaly: build  ## detectors on the generator's truth, Suthaharan and SKAB (make data first; DATA=data): the table, MLflow runs
	@stack/venv.sh ml >/dev/null
	@$(DQ_CACHE)/venv/ml/bin/python ml/evaluate.py build/dq $(if $(DATA),--data $(DATA))

docs-plots: build    ## redraws docs/anomaly.md's pictures of each sensor fault (ml/plot_faults.py)
	@stack/venv.sh ml >/dev/null
	@$(DQ_CACHE)/venv/ml/bin/python ml/plot_faults.py build/dq

bench-check: build    ## dq check vs Great Expectations, pandera, plain Python (EVENTS=1000000, INPUT=file)
	@stack/venv.sh bench >/dev/null
	@$(BENCH_PY) bench/bench_check.py build/dq \
		--events $(or $(EVENTS),1000000) $(if $(INPUT),--input $(INPUT))

bench-sensors: build  ## dq check's memory per sensor and events/s at 100, 10k, 100k and 1M sensors, and eviction
	@python3 bench/bench_sensors.py build/dq $(if $(EVENTS),--events $(EVENTS))

bench-parsers:   ## libdq's event scanner vs cJSON, json-c and jansson on the same events (EVENTS=1000000)
	@dpkg-query -W libcjson-dev libjson-c-dev libjansson-dev >/dev/null 2>&1 || \
		{ echo "bench-parsers: the peers' JSON libraries are missing: run 'make deps'" >&2; exit 1; }
	@cmake -S . -B build-bench -DDQ_BENCH=ON $(RDKAFKA) > /dev/null && cmake --build build-bench -j $(JOBS) --target bench_parsers dq
	@build-bench/dq gen --count $(or $(EVENTS),1000000) --seed 7 --start 2026-01-01T00:00:00Z -q > build-bench/events.ndjson
	@build-bench/bench_parsers contracts/sensor_readings.yaml $(or $(INPUT),build-bench/events.ndjson)

bench-bindings: build ## Python -> libdq through ctypes vs cffi, batch calls, same events (EVENTS=1000000)
	@stack/venv.sh bench >/dev/null
	@mkdir -p build-bench && build/dq gen --count $(or $(EVENTS),1000000) --seed 7 --start 2026-01-01T00:00:00Z -q > build-bench/events.ndjson
	@$(BENCH_PY) bench/bindings.py build/dq $(or $(INPUT),build-bench/events.ndjson)

bench-flink: build  ## Kafka -> Cassandra through Flink vs dq gate and a Cassandra ceiling on the same events, where the time goes (EVENTS=100000)
	@stack/status.sh --quiet || stack/up.sh
	@$(CORE_VENV)/bin/python bench/bench_flink.py build/dq --events $(or $(EVENTS),100000)

bench-spark: build  ## Kafka -> Cassandra through Spark vs dq gate on the same events, micro-batch latency, where the time goes (EVENTS=100000)
	@stack/status.sh --quiet || stack/up.sh
	@$(CORE_VENV)/bin/python bench/bench_spark.py build/dq --events $(or $(EVENTS),100000)

soak: build         ## the live pipeline at RATE events/s for MINUTES (default 5000, 60): lag and memory each minute, then reconciled; not in make test
	@stack/status.sh --quiet || stack/up.sh
	@$(CORE_VENV)/bin/python bench/soak.py --minutes $(or $(MINUTES),60) --rate $(or $(RATE),5000)

bench-anomaly: build ## isolation-forest scoring: libdq vs scikit-learn score_samples on the same vectors (EVENTS=200000)
	@stack/venv.sh ml >/dev/null
	@$(DQ_CACHE)/venv/ml/bin/python bench/bench_anomaly.py build/dq $(if $(EVENTS),--events $(EVENTS))

bench-gate: build   ## dq gate vs the raw Kafka ceiling, latency at 10k ev/s, dq gen vs Kafka's perf tool (EVENTS=1000000)
	@stack/up.sh kafka >/dev/null
	@$(CORE_VENV)/bin/python bench/bench_gate.py build/dq --events $(or $(EVENTS),1000000)

clean-build:     ## remove build outputs
	rm -rf build build-asan build-fuzz build-bench
