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

.PHONY: run install test test-fast lint bench bench-all clean messages console-assets chromium wrk screenshots

# The message catalogues (translations/<lang>/LC_MESSAGES/messages.po) compile to .mo before the app runs.
CATALOGUES := $(wildcard translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGUES:.po=.mo)
# What `pybabel extract` looks for besides gettext's own names: Flask-Babel's lazy `_l` and the mark-only `N_`.
BABEL_KEYWORDS := -k _l -k N_

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

# The console's front-end libraries (console/package-lock.json), copied where the app serves them: the browser
# fetches nothing from the internet.
CONSOLE_VENDOR := console/static/vendor
$(CONSOLE_VENDOR)/.installed: console/package.json console/package-lock.json
	npm ci --prefix console --no-audit --no-fund --loglevel=error
	mkdir -p $(CONSOLE_VENDOR)
	cp console/node_modules/echarts/dist/echarts.min.js $(CONSOLE_VENDOR)/
	cp console/node_modules/echarts/LICENSE $(CONSOLE_VENDOR)/echarts.LICENSE
	cp console/node_modules/echarts/NOTICE $(CONSOLE_VENDOR)/echarts.NOTICE
	touch $@
console-assets: $(CONSOLE_VENDOR)/.installed

# The browser tests drive Debian's Chromium (never a downloaded one), with a Chinese font for the screenshots;
# installed here when missing and root.
CHROMIUM_PACKAGES := chromium fonts-wqy-microhei
chromium:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list :lang=zh | grep -q .; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get install -y $(CHROMIUM_PACKAGES) || (apt-get update && apt-get install -y $(CHROMIUM_PACKAGES)); \
		else echo "missing: apt-get install $(CHROMIUM_PACKAGES) (as root)"; [ -x /usr/bin/chromium ]; fi; \
	fi

# The benchmarks' load generator (Debian's wrk), installed here when missing and root.
wrk:
	@if ! command -v wrk >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then apt-get install -y wrk || (apt-get update && apt-get install -y wrk); \
		else echo "missing: apt-get install wrk (as root)"; false; fi; \
	fi

# The console's screenshots in docs/screenshots/, written by its browser tests.
screenshots: $(VENV)/.installed-dev $(COMPILED) console-assets chromium
	SCREENSHOTS_DIR=docs/screenshots $(BIN)/pytest -q -p no:cacheprovider -m browser tests/console

# The npm packages the contract tests run (Redocly, openapi-typescript, TypeScript), exactly as locked.
$(CONTRACT_TOOLS): contract/package.json contract/package-lock.json
	cd contract && npm ci --no-audit --no-fund
	touch $@

# What a server needs before it starts (README, Deployment): the requirements, the compiled message catalogues
# (without them every message and SMS is in English) and the console's libraries (npm).
install: $(VENV)/.installed $(COMPILED) console-assets

# The web server, one delivery worker and the sweep (every minute), from the Procfile; Ctrl-C stops all three.
run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask tasks seed-categories
	$(BIN)/flask calendar seed
	@if [ "$(DEMO_SEED)" != "0" ]; then $(BIN)/flask seed-demo; fi
	$(BIN)/honcho start --procfile Procfile --port $(PORT)

# The layers first (import-linter: no import loops, no import back up the layers), then the suite.
test: $(VENV)/.installed-dev $(COMPILED) console-assets chromium $(CONTRACT_TOOLS)
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -n 2 -q

test-fast: $(VENV)/.installed-dev $(COMPILED) console-assets $(CONTRACT_TOOLS)
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -n 2 -q -m "not slow and not browser"

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The hot endpoints against a bare Flask app served the same way, on SQLite and PostgreSQL (bench/matrix.py;
# BENCH_ARGS="--servers all" compares the servers, "--rounds 5 --duration 10" for steadier figures).
bench: $(VENV)/.installed-dev wrk
	$(BIN)/python bench/matrix.py $(BENCH_ARGS)

# Every benchmark of its own (each against the app's /healthz).
bench-all: $(VENV)/.installed-dev wrk
	$(BIN)/python bench/auth_reads.py
	$(BIN)/python bench/grid_import.py
	$(BIN)/python bench/grid_locate.py
	$(BIN)/python bench/tickets.py
	$(BIN)/python bench/notify.py

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po | $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -i $< -o $@

# After adding or changing a `_("...")`: collect every message from the code and merge the new ones into each
# catalogue (new ones untranslated, changed ones marked fuzzy); then translate those in the .po and commit it.
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg $(BABEL_KEYWORDS) --no-location --sort-output --omit-header \
		-o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-wrap --ignore-obsolete
	@echo 'Translate the new (msgstr "") and fuzzy entries of translations/*/LC_MESSAGES/messages.po, then commit it;'
	@echo 'tests/kernel/test_i18n.py names any message still without its Chinese.'

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache console/node_modules $(CONSOLE_VENDOR)

	rm -rf $(VENV) .pytest_cache .ruff_cache contract/node_modules
