# Jalon: one setup step (idempotent), then run, test, bench, migrate, export contracts.
# `make run` and `make test` are all a newcomer needs; see README.md.

SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
# Re-installed whenever pyproject.toml changes (its dependencies are pinned there).
STAMP := $(VENV)/.installed-pyproject
# What WeasyPrint (PDF certificates) loads at run time.
SYSTEM_LIBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core

# Embedded defaults of `make run`: SQLite files, emails and documents under ./var.
export JALON_DATA_DIR ?= $(CURDIR)/var

.PHONY: setup system-libs run test test-faults test-faults-short bench migrate contracts \
	lint-imports compose-up clean

setup: $(STAMP) system-libs

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $@

system-libs:
	@missing=$$(for p in $(SYSTEM_LIBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing system libraries for PDF rendering:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else \
		echo "Missing system libraries for PDF rendering:" $$missing; \
		echo "Install them with: sudo apt-get install" $$missing; \
	fi

run: setup
	$(PY) -m tools.stack --demo

# The whole suite. pytest's exit 5 (no test collected) is a failure, said plainly.
test: setup
	@$(PY) -m pytest -q $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests: that is a failure."; fi; \
	exit $$rc

# Issue 10's fault injection (long; not part of `make test`): bursts of certifications during
# a broker restart, a SIGKILL of each process, PostgreSQL restarts and poison messages, on a
# RabbitMQ node and a PostgreSQL cluster of its own. One kind: `make test-faults K=broker`.
# Figures: build/faults/<kind>-<certifications>.json. JALON_FAULTS_BURST: per kind (300).
test-faults: setup
	$(PY) -m pytest -m faults -s -rA tests/faults $(if $(K),-k '$(K)') $(PYTEST_ARGS)

# A shorter variant for CI: 60 certifications per kind, four kinds.
test-faults-short: setup
	JALON_FAULTS_BURST=60 $(PY) -m pytest -m faults -s -rA tests/faults \
		-k 'broker or kill_certification or postgres_immediate or poison' $(PYTEST_ARGS)

bench: setup
	$(PY) -m bench.run

migrate: setup
	$(PY) -m servicekit.migrate all

contracts: setup
	$(PY) -m contracts.export build/contracts

lint-imports: setup
	$(VENV)/bin/lint-imports

compose-up:
	docker compose up --build

clean:
	rm -rf var build
