# Two commands matter: `make demo` (the main job) and `make test` (everything CI checks).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_STORE ?= $(CURDIR)/demo-store
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

STAMPS := .make
# everything the front-end build reads: a change to any of them rebuilds the widget and the labextension
FRONTEND_SOURCES := $(shell find js labextension/src -type f \( -name '*.ts' -o -name '*.mjs' -o -name '*.css' \) \
	-not -name '*.test.ts' -not -path '*/test/*' -not -path '*/bench/*' 2>/dev/null)

.PHONY: demo shell test chaos install install-test frontend browser lint typecheck pytest vitest bench screenshots clean

# the demo store is filled once (a second run adds nothing); JupyterLab opens on a copy of the tutorial in
# demo-notebooks/, so the tracked notebook never changes by using it
demo: install
	$(BIN)/python -m datatailr_jupyter.demo --store "$(DEMO_STORE)"
	$(BIN)/python -m datatailr_jupyter.demo.lab --store "$(DEMO_STORE)" --workdir demo-notebooks

# a shell where the README's examples run as written: the venv first on PATH, the demo store as the default store
shell: install
	@echo "dt and python of $(VENV); DT_RUNS_STORE=$(DEMO_STORE) (make demo fills it); exit to leave"
	@PATH="$(CURDIR)/$(BIN):$$PATH" DT_RUNS_STORE="$(DEMO_STORE)" DT_RUNS_TRUSTED_STORES="$(DEMO_STORE)" \
		VIRTUAL_ENV="$(CURDIR)/$(VENV)" $${SHELL:-bash} -i

test: install-test browser lint typecheck vitest pytest

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "jupyter-builder>=1.3"

# stamps live in $(STAMPS)/, not in node_modules/ or the venv, which npm and pip rewrite on their own
$(STAMPS)/npm: package.json package-lock.json labextension/package.json
	npm ci --no-audit --no-fund
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/frontend: $(STAMPS)/npm $(BIN)/python $(FRONTEND_SOURCES) js/build.mjs labextension/package.json
	PATH="$(CURDIR)/$(BIN):$$PATH" npm run build
	@touch $@

frontend: $(STAMPS)/frontend

$(STAMPS)/install: $(STAMPS)/frontend pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[demo]"
	@touch $@

$(STAMPS)/install-test: $(STAMPS)/install pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[demo,test]"
	@touch $@

# the oldest cloudpickle the dependency range allows, for the tests that ship task code by value with it
$(STAMPS)/cloudpickle-oldest: pyproject.toml | $(BIN)/python
	rm -rf $(VENV)/cloudpickle-oldest
	$(BIN)/python -m pip install --quiet --no-deps --target $(VENV)/cloudpickle-oldest "cloudpickle==3.0.0"
	@mkdir -p $(STAMPS) && touch $@

# the oldest distributed (and its dask) the dependency range allows, for the Dask contract suite run against it
# (tests/engine/test_dask_oldest.py); 2022.12.1 is the first release that runs on Python 3.11
$(STAMPS)/dask-oldest: pyproject.toml | $(BIN)/python
	rm -rf $(VENV)/dask-oldest
	$(BIN)/python -m pip install --quiet --no-deps --target $(VENV)/dask-oldest "distributed==2022.12.1" "dask==2022.12.1"
	@mkdir -p $(STAMPS) && touch $@

install: $(STAMPS)/install

install-test: $(STAMPS)/install-test $(STAMPS)/cloudpickle-oldest $(STAMPS)/dask-oldest

browser:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

lint: install-test
	$(BIN)/ruff check datatailr_jupyter tests bench
	$(BIN)/ruff format --check datatailr_jupyter tests bench

typecheck: install-test
	$(BIN)/mypy
	npm run --silent typecheck

pytest: install-test
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --durations=20

# the chaos suite at full size (kills, a 3-minute soak, full disks, hostile input); `make test` runs it quick
chaos: install-test
	DT_CHAOS=full $(BIN)/python -m pytest -q -m chaos -p no:cacheprovider

vitest: $(STAMPS)/npm
	npm test --silent

# retakes the README's screenshots from the demo (docs/screenshots/*.png)
screenshots: install-test browser
	$(BIN)/python docs/screenshots/take.py

# every benchmark, each figure printed next to its aim; quick by default (a few minutes), PROFILE=full for the
# sizes docs/benchmarks.md reports (1M-run stores, 1 GB log, browser timings: much longer)
bench: PROFILE ?= quick
bench: install-test
	@set -e; if [ "$(PROFILE)" = full ]; then \
		$(BIN)/python -m bench.bench_engine; $(BIN)/python -m bench.bench_results; $(BIN)/python -m bench.bench_logs; \
		$(BIN)/python -m bench.bench_store; $(BIN)/python -m bench.bench_big_results; \
		$(BIN)/python -m bench.bench_overview; $(BIN)/python -m bench.bench_server; \
		$(BIN)/python -m bench.bench_remote_explorer --browser; \
		$(BIN)/python -m bench.bench_explorer; $(BIN)/python -m bench.bench_dask; $(BIN)/python -m bench.bench_live; \
	else \
		$(BIN)/python -m bench.bench_engine --quick; \
		$(BIN)/python -m bench.bench_results --reps 5 --fresh-reps 3; \
		$(BIN)/python -m bench.bench_logs --reps 3; \
		$(BIN)/python -m bench.bench_store --runs 100000 --small 10000 --reps 10; \
		$(BIN)/python -m bench.bench_big_results --mb 100; \
		$(BIN)/python -m bench.bench_server --seconds 2; \
		$(BIN)/python -m bench.bench_remote_explorer --runs 10000 --reps 5; \
		$(BIN)/python -m bench.bench_live --seconds 10; \
	fi

clean:
	rm -rf $(STAMPS) $(VENV) node_modules labextension/node_modules labextension/lib datatailr_jupyter/static datatailr_jupyter/labextension demo-store test-artifacts
