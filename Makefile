# The two commands: `make run` serves the API with demo data, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
DEMO_SEED ?= 1
export FLASK_APP := wsgi
export HOST PORT WORKERS

CONTRACT_TOOLS := contract/node_modules/.installed

.PHONY: run test test-fast lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever a requirements file changes.
$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt requirements-sms.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# The npm packages the contract tests run (Redocly, openapi-typescript, TypeScript), exactly as locked.
$(CONTRACT_TOOLS): contract/package.json contract/package-lock.json
	cd contract && npm ci --no-audit --no-fund
	touch $@

# The web server, one delivery worker and the sweep (every minute), from the Procfile; Ctrl-C stops all three.
run: $(VENV)/.installed
	$(BIN)/flask db upgrade
	$(BIN)/flask tasks seed-categories
	$(BIN)/flask calendar seed
	@if [ "$(DEMO_SEED)" != "0" ]; then $(BIN)/flask seed-demo; fi
	$(BIN)/honcho start --procfile Procfile --port $(PORT)

# The layers first (import-linter: no import loops, no import back up the layers), then the suite.
test: $(VENV)/.installed-dev $(CONTRACT_TOOLS)
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -n 2 -q

test-fast: $(VENV)/.installed-dev $(CONTRACT_TOOLS)
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -n 2 -q -m "not slow"

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/auth_reads.py
	$(BIN)/python bench/grid_import.py
	$(BIN)/python bench/grid_locate.py
	$(BIN)/python bench/tickets.py
	$(BIN)/python bench/notify.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache contract/node_modules
