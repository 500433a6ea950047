#!/bin/sh
# The web server's one command. The Procfile (`make run`), the systemd unit (grid-web.service) and the compose
# file all start this, so a change of server or of its flags is made here once. uWSGI reads the rest of its
# settings from uwsgi.ini (why uWSGI: docs/PERFORMANCE.md, "The server").
set -eu
cd "$(dirname "$0")/.."
# /metrics sums the workers' counts through files in this folder: start with it empty, or an earlier run's
# counts would be added to this one's.
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    rm -f "$PROMETHEUS_MULTIPROC_DIR"/*.db
fi
exec "${VENV:-.venv}/bin/uwsgi" --ini uwsgi.ini \
    --processes "${WORKERS:-2}" --http11-socket "${HOST:-127.0.0.1}:${PORT:-8000}" --module wsgi:app
