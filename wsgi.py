"""The WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

from kernel.app import create_app

app = create_app()
