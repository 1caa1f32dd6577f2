# The two-command contract (README): `make run` installs what running needs (a C compiler,
# OpenSSL headers, the venv) and runs the embedded two-server system; `make test` adds what the
# suite needs (the Pub/Sub emulator, Java, clang, valgrind, Chromium) and runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_PACKAGES := build-essential libssl-dev python3-venv
# chromium: the status page is tested in a real headless browser.
TEST_PACKAGES := valgrind clang libclang-rt-14-dev openjdk-17-jre-headless chromium
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
# The runtime closure as locked for the image: the suite runs exactly what the image ships.
CONSTRAINTS := deploy/docker/runtime-constraints.txt

.PHONY: install install-test run test test-fast bench sanitize valgrind fuzz proto clean

install: $(STAMP)

install-test: $(TEST_STAMP)

$(STAMP): pyproject.toml setup.py $(CONSTRAINTS) $(wildcard libprio_ctypes/csrc/*.c libprio_ctypes/csrc/*.h)
	./scripts/install-system-packages $(RUN_PACKAGES)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet --constraint $(CONSTRAINTS) -e .
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	./scripts/install-system-packages $(TEST_PACKAGES)
	./scripts/install-pubsub-emulator $(BIN)/pip
	$(BIN)/pip install --quiet --constraint $(CONSTRAINTS) -e '.[test]'
	touch $(TEST_STAMP)

run: install
	$(BIN)/prio-stream embedded

test: install-test
	$(BIN)/python -m pytest tests

# Without the tests that start the emulators (marked by their fixtures) or run long scenarios.
test-fast: install-test
	$(BIN)/python -m pytest -m "not emulator and not slow" tests

bench: install-test
	$(BIN)/python -m benchmarks

sanitize: install-test
	$(MAKE) -C libprio_ctypes/csrc sanitize

valgrind: install-test
	$(MAKE) -C libprio_ctypes/csrc valgrind

fuzz: install-test
	$(MAKE) -C libprio_ctypes/csrc fuzz FUZZ_SECONDS=$${FUZZ_SECONDS:-60}

clean:
	rm -rf $(VENV) build libprio_ctypes/libprio.so
