# The tracker's jobs. `make run` and `make test` are all a newcomer needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
# Some machines export PYTHONDONTWRITEBYTECODE. Then every test worker rewrites the asserts
# of every test module again (pytest caches them as bytecode): 8 of a worker's 14 s of
# CPU before its first test, paid again on every run.
unexport PYTHONDONTWRITEBYTECODE
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VENDOR := tracker/static/vendor
VENDOR_STAMP := $(VENDOR)/.stamp
CATALOGUES := tracker/translations
MO_FILES := $(CATALOGUES)/es/LC_MESSAGES/messages.mo $(CATALOGUES)/en/LC_MESSAGES/messages.mo
PO_SOURCES := $(wildcard $(CATALOGUES)/src/*.po)
# Debian packages the product needs at run or test time: WeasyPrint's fast font
# subsetting, the browser for page tests, QR decoding and PDF rasterising, Redis for the
# shared rate-limit storage tests.
SYSTEM_PACKAGES := libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0 chromium zbar-tools poppler-utils redis-server
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres
PYTEST_ARGS ?=
# Two workers: the machines have two cores, and the suite must stay under ten minutes.
TEST_JOBS ?= 2
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider -n $(TEST_JOBS)
# pytest exits 5 when it collected nothing: say so and fail, never pass silently.
NO_TESTS_IS_FAILURE = { rc=$$?; [ $$rc = 5 ] && echo "!! pytest collected no tests"; exit $$rc; }

.PHONY: help run serve test test-sqlite test-postgres test-slow test-slow-sqlite test-slow-postgres test-fast lint format bench bench-federation install sysdeps vendor translations init demo clean

help: ## show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

run: install init ## install everything, create the SQLite database, load the demo, serve on :5000
	@$(BIN)/tracker demo --if-empty
	@$(BIN)/tracker serve

install: sysdeps $(STAMP) $(VENDOR_STAMP) $(MO_FILES) ## venv, Python packages, vendored assets, catalogues

sysdeps: ## install the Debian packages that are missing (says which)
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing missing system packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null \
	    || { echo "Could not install:$$missing (install them by hand)"; exit 1; }; \
	fi

$(STAMP): pyproject.toml
	@test -d $(VENV) || { echo "Creating the virtual environment in $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "Installing the tracker and its dependencies into $(VENV)"
	@# uv resolves and installs the same releases as pip, compiled, in a third of the time (8 s
	@# against 25 s of a clean clone's make test).
	@$(BIN)/pip install -q --disable-pip-version-check uv
	@VIRTUAL_ENV=$(abspath $(VENV)) $(BIN)/uv pip install -q --compile-bytecode -e '.[dev]'
	@touch $@

$(VENDOR_STAMP): package.json package-lock.json
	@echo "Vendoring front-end assets from npm into $(VENDOR)"
	@npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@rm -rf $(VENDOR) && mkdir -p $(VENDOR)/pico $(VENDOR)/htmx $(VENDOR)/html5-qrcode $(VENDOR)/swagger-ui $(VENDOR)/fonts $(VENDOR)/idb $(VENDOR)/workbox
	@cp node_modules/@picocss/pico/css/pico.jade.min.css node_modules/@picocss/pico/LICENSE.md $(VENDOR)/pico/
	@cp node_modules/htmx.org/dist/htmx.min.js node_modules/htmx.org/LICENSE $(VENDOR)/htmx/
	@cp node_modules/html5-qrcode/html5-qrcode.min.js node_modules/html5-qrcode/LICENSE $(VENDOR)/html5-qrcode/
	@cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css node_modules/swagger-ui-dist/LICENSE $(VENDOR)/swagger-ui/
	@cp node_modules/@fontsource/noto-sans/files/noto-sans-latin-{400,700}-normal.woff node_modules/@fontsource/noto-sans/LICENSE $(VENDOR)/fonts/
	@cp node_modules/idb/build/umd.js node_modules/idb/LICENSE $(VENDOR)/idb/
	@cp node_modules/workbox-sw/build/workbox-sw.js node_modules/workbox-sw/LICENSE $(VENDOR)/workbox/
	@for m in core precaching routing strategies expiration cacheable-response; do \
	  cp node_modules/workbox-$$m/build/workbox-$$m.prod.js $(VENDOR)/workbox/; done
	@touch $@

vendor: $(VENDOR_STAMP) ## copy front-end assets from npm into the package

$(MO_FILES): $(PO_SOURCES) $(STAMP)
	@$(BIN)/python -m tracker.i18n compile

translations: $(MO_FILES) ## compile the Spanish and English catalogues

init: install ## create or upgrade the database
	@$(BIN)/tracker init

demo: init ## load the demo into an empty database
	@$(BIN)/tracker demo --if-empty

# The two halves run side by side, each printed whole when it ends: run one after the
# other they left a third of two cores idle (SQLite's one writer, browser waits).
test: install ## the whole suite but the long load tests, on SQLite and on PostgreSQL
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

test-sqlite: install
	@echo "== tests on SQLite =="
	@TRACKER_TEST_DB=sqlite $(PYTEST) -m "not load" $(PYTEST_ARGS) || $(NO_TESTS_IS_FAILURE)

test-postgres: install
	@if $(BIN)/python -c "import psycopg; psycopg.connect('host=127.0.0.1 user=postgres dbname=postgres', connect_timeout=3).close()" 2>/dev/null; then \
	  echo "== tests on PostgreSQL =="; \
	  TRACKER_TEST_DB=postgres $(PYTEST) -m "not browser and not sqlite_only and not load" $(PYTEST_ARGS) || $(NO_TESTS_IS_FAILURE); \
	else \
	  echo "!! PostgreSQL is not reachable on 127.0.0.1:5432: the PostgreSQL half of the suite did NOT run"; \
	  if [ -n "$$CI" ]; then exit 1; fi; \
	fi

test-slow: install ## the long load tests and the API fuzzing that make test leaves out (.ci/run runs them)
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-slow-sqlite test-slow-postgres

test-slow-sqlite: install
	@echo "== load tests on SQLite =="
	@TRACKER_TEST_DB=sqlite $(PYTEST) -m "load" $(PYTEST_ARGS) || $(NO_TESTS_IS_FAILURE)

test-slow-postgres: install
	@echo "== load tests on PostgreSQL =="
	@TRACKER_TEST_DB=postgres $(PYTEST) -m "load and not sqlite_only" $(PYTEST_ARGS) || $(NO_TESTS_IS_FAILURE)

lint: install ## ruff check, ruff format --check, mypy on the domain
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy

format: install ## apply ruff's formatting and fixes
	@$(BIN)/ruff format .
	@$(BIN)/ruff check --fix .

bench: install ## benchmarks, printed as ratios against floors measured in the same run
	@$(BIN)/python -m bench

FEDERATION_DELIVERIES ?= 1000000
FEDERATION_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/tracker_federation
bench-federation: install ## build a 50-cooperative federation on PostgreSQL, measure it, drop it (not in make test)
	@nice -n 19 $(BIN)/python -m bench.federation --deliveries $(FEDERATION_DELIVERIES) --url $(FEDERATION_URL) --measure --drop

clean: ## remove the venv, vendored assets, compiled catalogues and the local database
	rm -rf $(VENV) $(VENDOR) node_modules instance $(MO_FILES)
