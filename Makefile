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

.PHONY: run test test-fast lint bench bench-all clean

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

# The web server, one delivery worker and the sweep (every minute), from the Procfile; Ctrl-C stops all three.
run: $(VENV)/.installed
	$(BIN)/flask db upgrade
	$(BIN)/flask tasks seed-categories
	$(BIN)/flask calendar seed
	@if [ "$(DEMO_SEED)" != "0" ]; then $(BIN)/flask seed-demo; fi
	$(BIN)/honcho start --procfile Procfile --port $(PORT)

# The layers first (import-linter: no import loops, no import back up the layers), then the suite.
test: $(VENV)/.installed-dev
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -n 2 -q

test-fast: $(VENV)/.installed-dev
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -n 2 -q -m "not slow"

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The hot endpoints against a bare Flask app served the same way, on SQLite and PostgreSQL (bench/matrix.py;
# BENCH_ARGS="--servers all" compares the servers, "--rounds 5 --duration 10" for steadier figures).
bench: $(VENV)/.installed-dev
	$(BIN)/python bench/matrix.py $(BENCH_ARGS)

# Every benchmark of its own (each against the app's /healthz).
bench-all: $(VENV)/.installed-dev
	$(BIN)/python bench/auth_reads.py
	$(BIN)/python bench/grid_import.py
	$(BIN)/python bench/grid_locate.py
	$(BIN)/python bench/tickets.py
	$(BIN)/python bench/notify.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
