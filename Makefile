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

.PHONY: run test test-fast lint bench clean console-assets console-messages chromium screenshots

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

# The console's Chinese (console.po), compiled for running and testing until it is folded into messages.po.
CONSOLE_MO := translations/zh/LC_MESSAGES/messages.mo
$(CONSOLE_MO): translations/zh/LC_MESSAGES/console.po $(VENV)/.installed
	$(BIN)/pybabel compile -i $< -o $@
console-messages: $(CONSOLE_MO)

# The browser tests drive Debian's Chromium (never a downloaded one), with a Chinese font for the screenshots;
# installed here when missing and root.
CHROMIUM_PACKAGES := chromium fonts-wqy-microhei
chromium:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list :lang=zh | grep -q .; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get install -y $(CHROMIUM_PACKAGES) || (apt-get update && apt-get install -y $(CHROMIUM_PACKAGES)); \
		else echo "missing: apt-get install $(CHROMIUM_PACKAGES) (as root)"; [ -x /usr/bin/chromium ]; fi; \
	fi

# The console's screenshots in docs/screenshots/, written by its browser tests.
screenshots: $(VENV)/.installed-dev console-assets console-messages chromium
	SCREENSHOTS_DIR=docs/screenshots $(BIN)/pytest -q -p no:cacheprovider -m browser tests/console

# The web server, one delivery worker and the sweep (every minute), from the Procfile; Ctrl-C stops all three.
run: $(VENV)/.installed console-assets console-messages
	$(BIN)/flask db upgrade
	$(BIN)/flask tasks seed-categories
	$(BIN)/flask calendar seed
	@if [ "$(DEMO_SEED)" != "0" ]; then $(BIN)/flask seed-demo; fi
	$(BIN)/honcho start --procfile Procfile --port $(PORT)

# The layers first (import-linter: no import loops, no import back up the layers), then the suite.
test: $(VENV)/.installed-dev console-assets console-messages chromium
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -n 2 -q

test-fast: $(VENV)/.installed-dev console-assets console-messages
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -n 2 -q -m "not slow and not browser"

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
	rm -rf $(VENV) .pytest_cache .ruff_cache console/node_modules $(CONSOLE_VENDOR)
