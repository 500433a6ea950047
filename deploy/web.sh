#!/bin/sh
# The web server's one command. The Procfile (`make run`), the systemd unit (grid-web.service) and the compose
# file all start this, so a change of server or of its flags is made here once. gunicorn reads the rest of its
# settings from gunicorn.conf.py.
set -eu
cd "$(dirname "$0")/.."
exec "${VENV:-.venv}/bin/gunicorn" --config gunicorn.conf.py \
    --workers "${WORKERS:-2}" --worker-class sync --bind "${HOST:-127.0.0.1}:${PORT:-8000}" wsgi:app
