# The two commands of the README: `make run` and `make test`. Both set themselves up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint dev sandbox chromium screenshot clean

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

# Two pytest-xdist workers; conftest.py keeps each module (and the UI tests) on one worker and
# hands out the longest groups first, which is why xdist's own reordering is off.
test: $(VENV)/.installed-dev lint chromium
	$(BIN)/pytest -n 2 --dist loadscope --no-loadscope-reorder

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/dg check defs

dev: $(VENV)/.installed-run
	$(BIN)/stripe-assets dev

sandbox: $(VENV)/.installed-run
	$(BIN)/stripe-assets sandbox --port 12111

# The browser tests drive Debian's Chromium (Playwright's own browser download is not used).
# Installed once where we may (root with apt-get, as in CI: about a minute); elsewhere they skip.
chromium:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "No chromium: the browser tests will skip (sudo apt-get install chromium)."; fi

# docs/asset-graph.png: the sandbox account loaded in `dagster dev`, shot in Chromium.
screenshot: $(VENV)/.installed-dev chromium
	$(BIN)/python -m stripe_assets_tests.ui_screenshot docs/asset-graph.png

clean:
	rm -rf $(VENV) data .dagster_home test-output
