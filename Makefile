# Two commands: `make run` (install and start on SQLite) and `make test` (install and run every check).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
# Exact versions and hashes from PyPI (`make lock` regenerates them from pyproject.toml).
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint lock docs typecheck contracts pytest system-deps install install-dev bench bench-platform bench-report clean messages prod-check reliability mutation

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(STAMP): pyproject.toml $(DEV_LOCK) | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r $(DEV_LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@ $(VENV)/.installed

## Re-pin after changing the dependencies in pyproject.toml. Pins already in the lock files are
## kept; `make lock UPGRADE=--upgrade` moves everything to the newest versions. PyPI only (no
## local indexes from pip's configuration: --no-config), and the dev lock is constrained by the
## runtime one, so `make run` and `make test` run the same versions of what they share.
UV_COMPILE := $(BIN)/uv pip compile pyproject.toml --quiet --no-config \
	--index-url https://pypi.org/simple --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock" $(UPGRADE)
lock: | $(BIN)/python
	[ -x $(BIN)/uv ] || $(BIN)/pip install --quiet uv
	$(UV_COMPILE) -o $(LOCK)
	$(UV_COMPILE) --extra dev --constraint $(LOCK) -o $(DEV_LOCK)

## Regenerate the sections of the docs written from the code (tests/test_docs.py checks them).
docs: $(STAMP)
	$(BIN)/cog -r docs/operator-guide.md docs/cli.md

install: $(VENV)/.installed
install-dev: $(STAMP)

## Debian packages the test suite drives for real: Chromium (browser tests, and the PDF
## reports it prints), PostgreSQL 15, poppler-utils (the PDF test renders pages with pdftoppm).
system-deps:
	@need=""; \
	[ -x /usr/bin/chromium ] || need="$$need chromium"; \
	command -v pdftoppm >/dev/null || need="$$need poppler-utils"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need="$$need postgresql"; \
	if [ -n "$$need" ]; then \
		echo "installing:$$need"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$need; \
	fi

run: $(VENV)/.installed
	$(BIN)/rescind db upgrade
	$(BIN)/rescind first-login
	$(BIN)/rescind serve --host 127.0.0.1 --port 8000

lint: $(STAMP)
	$(BIN)/ruff check src tests bench docs/gen.py
	$(BIN)/ruff format --check src tests bench docs/gen.py

typecheck: $(STAMP)
	$(BIN)/mypy src

## The package layers of docs/architecture.md (pyproject's [tool.importlinter]).
contracts: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP) system-deps
	$(BIN)/pytest

test: system-deps $(STAMP) lint typecheck contracts pytest

bench: $(STAMP)
	$(BIN)/python bench/hash_images.py
	$(BIN)/python bench/hash_video.py
	$(BIN)/python bench/index.py

## The platform figures of issue 6 (minutes each; `check` needs wrk, installed here if missing).
bench-platform: $(STAMP) system-deps
	@command -v wrk >/dev/null || ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq wrk)
	$(BIN)/python bench/platform_api.py check
	$(BIN)/python bench/platform_api.py media
	$(BIN)/python bench/platform_api.py sweep
	$(BIN)/python bench/platform_api.py latency

## The compliance report over 1M generated cases on SQLite (issue 23; generating them takes
## tens of minutes; `--db PATH` keeps and reuses the database).
bench-report: $(STAMP)
	$(BIN)/python bench/report.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

## Re-extract the message catalogues after changing user-facing text; then translate the new
## entries in src/rescind/locale/*/LC_MESSAGES/messages.po (tests fail on untranslated ones).
messages: $(STAMP)
	$(BIN)/pybabel extract -F src/rescind/locale/babel-messages.cfg -k N_ --no-location \
		--omit-header -o src/rescind/locale/messages.pot .
	$(BIN)/pybabel extract -F src/rescind/locale/babel-console.cfg --no-location \
		--omit-header -o src/rescind/locale/console.pot .
	for lang in fr it id es de; do \
		$(BIN)/pybabel update -D messages -i src/rescind/locale/messages.pot \
			-d src/rescind/locale -l $$lang --no-fuzzy-matching --width 100; \
	done

## The production layout of deploy/ started locally (PostgreSQL, 2 servers, 1 worker, nginx
## with TLS) and checked end to end, then stopped (issue 22).
prod-check: $(STAMP) system-deps
	@command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nginx)
	$(BIN)/python -m tests.reliability.prod_check

## Mutation testing of the webhook, deadline and case-number code (mutmut; results in
## mutants/, summary printed; kill rate recorded in docs/benchmarks.md).
mutation: $(STAMP)
	rm -rf mutants
	$(BIN)/mutmut run --max-children 2 >/dev/null || true
	$(BIN)/python -m tests.reliability.mutation_report

## Mutation testing, schemathesis against /openapi.json with 500 cases per operation, then 10
## minutes of load under faults (the short forms run in `make test`).
reliability: $(STAMP) system-deps mutation
	$(BIN)/python -m tests.reliability.schema_fuzz --examples 500
	$(BIN)/python -m tests.reliability.chaos --duration 600
