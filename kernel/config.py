"""Settings from the environment, with development defaults that never hold a committed secret."""

import json
import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = ROOT / "instance"
DEFAULT_DATABASE_URL = f"sqlite:///{INSTANCE_DIR / 'grid.db'}"


def load_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask config from environment variables."""
    env = os.environ if environ is None else environ
    secret_key, jwt_key = _secrets(env)
    return {
        "SECRET_KEY": secret_key,
        "JWT_SECRET_KEY": jwt_key,
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(env.get("DATABASE_URL", DEFAULT_DATABASE_URL)),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
        "SQLITE_BUSY_TIMEOUT_MS": int(env.get("SQLITE_BUSY_TIMEOUT_MS", "5000")),
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", str(16 * 1024 * 1024))),
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_FAILURES_PER_ADDRESS": int(env.get("LOGIN_FAILURES_PER_ADDRESS", "30")),
        "LOGIN_FAILURES_PER_ACCOUNT": int(env.get("LOGIN_FAILURES_PER_ACCOUNT", "5")),
        "LOGIN_FAILURE_WINDOW": timedelta(minutes=15),
        "ACCOUNT_LOCK_DURATION": timedelta(minutes=int(env.get("ACCOUNT_LOCK_MINUTES", "15"))),
        "JWT_ALGORITHM": "HS256",
        "JWT_DECODE_ALGORITHMS": ["HS256"],
        "JWT_ACCESS_TOKEN_EXPIRES": timedelta(minutes=int(env.get("ACCESS_TOKEN_MINUTES", "15"))),
        "JWT_REFRESH_TOKEN_EXPIRES": timedelta(days=int(env.get("REFRESH_TOKEN_DAYS", "30"))),
        "JWT_TOKEN_LOCATION": ["headers"],
        "IDEMPOTENCY_KEY_TTL": timedelta(hours=int(env.get("IDEMPOTENCY_KEY_HOURS", "24"))),
        "WORKFORCE_POSITION_RETENTION_DAYS": int(env.get("WORKFORCE_POSITION_RETENTION_DAYS", "90")),
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
        # Reverse proxies in front of the app whose X-Forwarded-For to trust (login brakes count by address).
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", "0")),
        "JSON_AS_ASCII": False,
        "API_TITLE": "Grid governance API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        # Served from the app itself: government networks are often closed to public CDNs.
        "OPENAPI_SWAGGER_UI_URL": "/api/v1/docs/assets/",
    }


def normalize_database_url(url: str) -> str:
    """Accept the common `postgres://` and `postgresql://` spellings and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _secrets(env: Mapping[str, str]) -> tuple[str, str]:
    """Secrets from the environment; in development, generated once into instance/ and reused."""
    secret_key, jwt_key = env.get("SECRET_KEY"), env.get("JWT_SECRET_KEY")
    if secret_key and jwt_key:
        return secret_key, jwt_key
    stored = _instance_secrets()
    return secret_key or stored["SECRET_KEY"], jwt_key or stored["JWT_SECRET_KEY"]


def _instance_secrets() -> dict[str, str]:
    path = INSTANCE_DIR / "secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    generated = {"SECRET_KEY": secrets.token_urlsafe(48), "JWT_SECRET_KEY": secrets.token_urlsafe(48)}
    # Written aside, then linked into place: two gunicorn workers starting together must both end up
    # reading one complete file.
    temporary = INSTANCE_DIR / f".secrets.{os.getpid()}.tmp"
    temporary.write_text(json.dumps(generated))
    temporary.chmod(0o600)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return json.loads(path.read_text())
