# The two commands of the README: `make run` and `make test`. Both set themselves up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint dev sandbox clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# One pip call for the whole pinned set (dagster-duckdb pins dagster exactly), then pip check.
$(VENV)/.installed-run: setup.py constraints.txt | $(BIN)/python
	$(BIN)/pip install -q -c constraints.txt -e .
	$(BIN)/pip check
	touch $@

$(VENV)/.installed-dev: setup.py constraints.txt | $(BIN)/python
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	$(BIN)/pip check
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/stripe-assets load

test: $(VENV)/.installed-dev lint
	$(BIN)/pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/dagster definitions validate -w workspace.yaml

dev: $(VENV)/.installed-run
	$(BIN)/stripe-assets dev

sandbox: $(VENV)/.installed-run
	$(BIN)/stripe-assets sandbox --port 12111

clean:
	rm -rf $(VENV) data .dagster_home test-output
