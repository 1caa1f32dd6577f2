# The two-command contract (README): `make run` installs everything and runs the
# embedded two-server system; `make test` installs everything and runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := build-essential libssl-dev valgrind clang libclang-rt-14-dev openjdk-17-jre-headless google-cloud-cli-pubsub-emulator
STAMP := $(VENV)/.installed
# The runtime closure as locked for the image: the suite runs exactly what the image ships.
CONSTRAINTS := deploy/docker/runtime-constraints.txt

.PHONY: install run test test-fast bench sanitize valgrind fuzz proto clean

install: $(STAMP)

$(STAMP): pyproject.toml setup.py $(CONSTRAINTS) $(wildcard libprio_ctypes/csrc/*.c libprio_ctypes/csrc/*.h)
	./scripts/install-system-packages $(APT_PACKAGES)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet --constraint $(CONSTRAINTS) -e '.[test]'
	touch $(STAMP)

run: install
	$(BIN)/prio-stream embedded

test: install
	$(BIN)/python -m pytest tests

bench: install
	$(BIN)/python -m benchmarks

sanitize: install
	$(MAKE) -C libprio_ctypes/csrc sanitize

valgrind: install
	$(MAKE) -C libprio_ctypes/csrc valgrind

fuzz: install
	$(MAKE) -C libprio_ctypes/csrc fuzz FUZZ_SECONDS=$${FUZZ_SECONDS:-60}

clean:
	rm -rf $(VENV) build libprio_ctypes/libprio.so
