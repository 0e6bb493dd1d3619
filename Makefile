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

.PHONY: setup system-libs run test test-unit test-integration test-e2e test-faults \
	test-faults-short bench migrate contracts lint-imports compose-up clean

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

# pytest on $(1) (nothing: the whole suite). Its exit 5 (no test collected) is a failure,
# said plainly.
define pytest
	@$(PY) -m pytest -q $(1) $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make $@: pytest collected no tests: that is a failure."; fi; \
	exit $$rc
endef

# The whole suite.
test: setup
	$(call pytest)

# Test tiers, one folder each (README.md, "Test tiers"). Unit: no broker, no database; the
# test broker and database are pointed at a closed port, so a test that needs one fails here.
test-unit: export JALON_TEST_AMQP_URI = amqp://guest:guest@127.0.0.1:9/
test-unit: export JALON_TEST_PG_URL = postgresql://postgres@127.0.0.1:9/postgres
test-unit: setup
	$(call pytest,tests/unit)

# Integration: real RabbitMQ and PostgreSQL, services as Nameko containers in the test process.
test-integration: setup
	$(call pytest,tests/integration)

# End to end: the whole stack as processes (tools/stack.py), driven over HTTP.
test-e2e: setup
	$(call pytest,tests/e2e)

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
