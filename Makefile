# Real-time data quality for sensor streams: build, test, fuzz.
# `make help` lists the targets.

SHELL      := /bin/bash
MAKEFLAGS  += --no-print-directory
JOBS       ?= 2
CORE_VENV  := $(shell . stack/lib.sh && echo $$DQ_CACHE/venv/core)
PYTEST     := $(CORE_VENV)/bin/python -m pytest
FUZZ_SECONDS ?= 600

.PHONY: help deps build build-asan build-fuzz test test-unit test-asan test-python fuzz fuzz-short clean-build \
        bench bench-check

help:            ## this list
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/' | expand -t 18

deps:            ## install missing Debian packages and the test virtual environment
	@stack/deps.sh

build:           ## libdq, libdq.so and the dq tool in build/
	@cmake -S . -B build -DDQ_WERROR=ON > /dev/null
	@cmake --build build -j $(JOBS)

build-asan:      ## the same with AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/
	@cmake -S . -B build-asan -DDQ_SANITIZE=ON -DDQ_WERROR=ON -DCMAKE_BUILD_TYPE=Debug > /dev/null
	@cmake --build build-asan -j $(JOBS)

build-fuzz:      ## libFuzzer targets (clang) in build-fuzz/
	@CC=clang cmake -S . -B build-fuzz -DDQ_FUZZ=ON -DDQ_SANITIZE=ON > /dev/null
	@cmake --build build-fuzz -j $(JOBS) --target fuzz_event fuzz_contract
	@$(CORE_VENV)/bin/python tests/fuzz/seed_corpus.py build-fuzz/corpus

test: deps build build-asan test-unit test-asan test-python fuzz-short  ## everything below, from a fresh clone
	@echo "make test: all suites passed"

test-unit: build      ## C unit tests
	@cd build && ctest --output-on-failure

test-asan: build-asan ## C unit tests and the vectors through dq check, under ASan + UBSan
	@cd build-asan && ctest --output-on-failure
	@DQ_BIN=build-asan/dq $(PYTEST) -q -k dq_check tests/python/test_vectors.py

test-python: build    ## Python bindings, the vectors through dq check and the bindings
	@$(PYTEST) -q tests/python

fuzz-short: build-fuzz ## 20 s of each fuzz target (part of make test)
	@build-fuzz/fuzz_event -max_total_time=20 -max_len=4096 build-fuzz/corpus/event 2>&1 | tail -1
	@build-fuzz/fuzz_contract -max_total_time=20 build-fuzz/corpus/contract 2>&1 | tail -1

fuzz: build-fuzz      ## long fuzz runs: FUZZ_SECONDS per target (default 600)
	build-fuzz/fuzz_event -max_total_time=$(FUZZ_SECONDS) -max_len=70000 build-fuzz/corpus/event
	build-fuzz/fuzz_contract -max_total_time=$(FUZZ_SECONDS) build-fuzz/corpus/contract

bench: bench-check ## every benchmark

bench-check: build    ## dq check vs Great Expectations, pandera, plain Python (EVENTS=1000000, INPUT=file)
	@$(shell . stack/lib.sh && echo $$DQ_CACHE)/venv/bench/bin/python -c 1 2>/dev/null || stack/venv.sh bench >/dev/null
	@$(shell . stack/lib.sh && echo $$DQ_CACHE)/venv/bench/bin/python bench/bench_check.py build/dq \
		--events $(or $(EVENTS),1000000) $(if $(INPUT),--input $(INPUT))

clean-build:     ## remove build outputs
	rm -rf build build-asan build-fuzz
