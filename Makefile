# Two commands matter: `make demo` (the main job) and `make test` (everything CI checks).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_STORE ?= $(CURDIR)/demo-store
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
ROOT_FLAG := $(shell [ "$$(id -u)" = 0 ] && echo --ServerApp.allow_root=True)

.PHONY: demo test install install-test frontend browser lint typecheck pytest vitest bench clean

demo: install
	$(BIN)/python -m datatailr_jupyter.demo --store "$(DEMO_STORE)"
	DT_RUNS_STORE="$(DEMO_STORE)" $(BIN)/jupyter lab $(ROOT_FLAG) notebooks/explore_runs.ipynb

test: install-test browser lint typecheck vitest pytest

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "jupyter-builder>=1.3"

node_modules/.package-lock.json: package.json package-lock.json labextension/package.json
	npm ci --no-audit --no-fund
	@touch $@

frontend: $(BIN)/python node_modules/.package-lock.json
	PATH="$(CURDIR)/$(BIN):$$PATH" npm run build

$(VENV)/.installed: $(BIN)/python pyproject.toml node_modules/.package-lock.json $(wildcard js/*.ts js/*.mjs labextension/src/*.ts)
	PATH="$(CURDIR)/$(BIN):$$PATH" npm run build
	$(BIN)/python -m pip install --quiet -e ".[demo]"
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

browser:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

lint: install-test
	$(BIN)/ruff check datatailr_jupyter tests bench
	$(BIN)/ruff format --check datatailr_jupyter tests bench

typecheck: install-test
	$(BIN)/mypy
	npm run --silent typecheck

pytest: install-test
	$(BIN)/python -m pytest -q

vitest: node_modules/.package-lock.json
	npm test --silent

bench: install-test
	$(BIN)/python -m bench.bench_store

clean:
	rm -rf $(VENV) node_modules labextension/node_modules labextension/lib datatailr_jupyter/static datatailr_jupyter/labextension demo-store test-artifacts
