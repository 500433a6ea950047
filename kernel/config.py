"""Settings from the environment, with development defaults that never hold a committed secret."""

import ipaddress
import json
import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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
        "SQLALCHEMY_ENGINE_OPTIONS": {"hide_parameters": True},
        # A read replica for the dashboards and exports (kernel.replica); unset, they read the primary.
        "DATABASE_REPLICA_URL": normalize_database_url(env["DATABASE_REPLICA_URL"])
        if env.get("DATABASE_REPLICA_URL")
        else None,
        "SQLITE_BUSY_TIMEOUT_MS": int(env.get("SQLITE_BUSY_TIMEOUT_MS", "5000")),
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", str(16 * 1024 * 1024))),
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_FAILURES_PER_ADDRESS": int(env.get("LOGIN_FAILURES_PER_ADDRESS", "30")),
        "LOGIN_FAILURES_PER_ACCOUNT": int(env.get("LOGIN_FAILURES_PER_ACCOUNT", "5")),
        "LOGIN_FAILURE_WINDOW": timedelta(minutes=15),
        # Where the per-address and wrong-password counts live: the database (every process on it shares them),
        # or "limiter": flask-limiter's RATELIMIT_STORAGE_URI, the default when that names a shared store (Redis).
        "LOGIN_BRAKES_STORE": env.get("LOGIN_BRAKES_STORE")
        or ("database" if env.get("RATELIMIT_STORAGE_URI", "memory://").startswith("memory://") else "limiter"),
        "ACCOUNT_LOCK_DURATION": timedelta(minutes=int(env.get("ACCOUNT_LOCK_MINUTES", "15"))),
        "JWT_ALGORITHM": "HS256",
        "JWT_DECODE_ALGORITHMS": ["HS256"],
        "JWT_ACCESS_TOKEN_EXPIRES": timedelta(minutes=int(env.get("ACCESS_TOKEN_MINUTES", "15"))),
        "JWT_REFRESH_TOKEN_EXPIRES": timedelta(days=int(env.get("REFRESH_TOKEN_DAYS", "30"))),
        "JWT_TOKEN_LOCATION": ["headers"],
        # The browser console's refresh token: an httpOnly SameSite=Strict cookie sent only to its own three
        # endpoints, with flask-jwt-extended's double-submit CSRF cookie readable by the console's pages alone
        # (auth.browser). The API itself reads bearer tokens from headers only. COOKIE_SECURE=1 behind HTTPS.
        "JWT_REFRESH_COOKIE_PATH": "/api/v1/auth/browser/",
        "JWT_REFRESH_CSRF_COOKIE_PATH": "/console",
        "JWT_COOKIE_SAMESITE": "Strict",
        "JWT_COOKIE_SECURE": env.get("COOKIE_SECURE", "0") == "1",
        # A refresh token presented again this soon after its rotation, its successor still unused, gets the
        # same pair back (a response lost on 4G); later, or once the successor was used, it revokes the login.
        "REFRESH_REUSE_GRACE_SECONDS": int(env.get("REFRESH_REUSE_GRACE_SECONDS", "60")),
        "IDEMPOTENCY_KEY_TTL": timedelta(hours=int(env.get("IDEMPOTENCY_KEY_HOURS", "24"))),
        "WORKFORCE_POSITION_RETENTION_DAYS": int(env.get("WORKFORCE_POSITION_RETENTION_DAYS", "90")),
        # Photos: where the local disk storage keeps them, the size cap, and whether EXIF/XMP (GPS!) go.
        "ATTACHMENTS_DIR": env.get("ATTACHMENTS_DIR", str(INSTANCE_DIR / "attachments")),
        # local (ATTACHMENTS_DIR) or s3: an S3-compatible object store every web machine shares (MinIO, Aliyun OSS).
        "ATTACHMENTS_STORAGE": _one_of(env, "ATTACHMENTS_STORAGE", ("local", "s3")),
        "ATTACHMENTS_S3_BUCKET": env.get("ATTACHMENTS_S3_BUCKET", ""),
        "ATTACHMENTS_S3_PREFIX": env.get("ATTACHMENTS_S3_PREFIX", "attachments/"),
        "ATTACHMENTS_S3_ENDPOINT_URL": env.get("ATTACHMENTS_S3_ENDPOINT_URL", ""),  # empty: AWS itself
        "ATTACHMENTS_S3_REGION": env.get("ATTACHMENTS_S3_REGION", ""),
        "ATTACHMENTS_S3_ACCESS_KEY_ID": env.get("ATTACHMENTS_S3_ACCESS_KEY_ID", ""),
        "ATTACHMENTS_S3_SECRET_ACCESS_KEY": env.get("ATTACHMENTS_S3_SECRET_ACCESS_KEY", ""),
        # path (MinIO), virtual (Aliyun OSS requires it) or auto.
        "ATTACHMENTS_S3_ADDRESSING_STYLE": _one_of(env, "ATTACHMENTS_S3_ADDRESSING_STYLE", ("auto", "path", "virtual")),
        "ATTACHMENTS_MAX_BYTES": int(env.get("ATTACHMENTS_MAX_BYTES", str(10 * 1024 * 1024))),
        "ATTACHMENTS_STRIP_METADATA": env.get("ATTACHMENTS_STRIP_METADATA", "true").lower() not in {"0", "false", "no"},
        # Tickets: a new ticket goes straight to its cell's only worker on duty when this is on.
        "TICKETS_AUTO_DISPATCH": env.get("TICKETS_AUTO_DISPATCH", "0") == "1",
        "TICKET_REOPEN_DAYS": int(env.get("TICKET_REOPEN_DAYS", "7")),
        "TICKET_AUTO_CLOSE_DAYS": int(env.get("TICKET_AUTO_CLOSE_DAYS", "7")),
        # The periods of a working day, Beijing time: SLAs in working days and hours count only these.
        "WORKING_HOURS": env.get("WORKING_HOURS", "09:00-12:00,13:30-17:30"),
        # 延期: how many extensions of its resolution deadline one ticket may be granted.
        "EXTENSIONS_MAX": int(env.get("EXTENSIONS_MAX", "2")),
        # 1: a handler's `return` waits for a supervisor's review (退单审核); 0: it goes straight back to pending.
        "RETURN_NEEDS_REVIEW": env.get("RETURN_NEEDS_REVIEW", "1").strip().lower() in ("1", "true", "yes", "on"),
        # 双报到: the service hours a checked-in party member's resolved ticket counts (party.checkins.records).
        "PARTY_SERVICE_HOURS_PER_TICKET": Decimal(env.get("PARTY_SERVICE_HOURS_PER_TICKET", "1")),
        # Rendered ticket-list pages each process keeps to send again while current (tasks.tickets.pages); 0: none.
        "TICKET_PAGE_CACHE_ENTRIES": int(env.get("TICKET_PAGE_CACHE_ENTRIES", "512")),
        # Notification delivery (`flask notify worker`): batches claimed under a lease, retries with backoff.
        "NOTIFY_BATCH_SIZE": int(env.get("NOTIFY_BATCH_SIZE", "50")),
        "NOTIFY_LEASE_SECONDS": int(env.get("NOTIFY_LEASE_SECONDS", "120")),
        # The longest one send may take (the channels' timeouts): no send starts closer than this to the lease's end.
        "NOTIFY_SEND_MARGIN_SECONDS": int(env.get("NOTIFY_SEND_MARGIN_SECONDS", "30")),
        "NOTIFY_MAX_ATTEMPTS": int(env.get("NOTIFY_MAX_ATTEMPTS", "8")),
        "NOTIFY_BACKOFF_BASE_SECONDS": float(env.get("NOTIFY_BACKOFF_BASE_SECONDS", "30")),
        "NOTIFY_BACKOFF_MAX_SECONDS": float(env.get("NOTIFY_BACKOFF_MAX_SECONDS", "3600")),
        "NOTIFY_IDLE_SECONDS": float(env.get("NOTIFY_IDLE_SECONDS", "2")),
        # At most this many SMS to one phone number per hour (0: no limit); more are held, not sent.
        "NOTIFY_SMS_PER_PHONE_PER_HOUR": int(env.get("NOTIFY_SMS_PER_PHONE_PER_HOUR", "5")),
        # Non-urgent resident SMS wait for the end of this local period ("" turns quiet hours off).
        # The console map's optional raster tiles beneath the cells: an XYZ template ({z}/{x}/{y}) in Web Mercator;
        # unset, the map draws the cells alone and asks no tile server.
        "CONSOLE_TILE_URL": _tile_url(env),
        "CONSOLE_TILE_ATTRIBUTION": env.get("CONSOLE_TILE_ATTRIBUTION", ""),
        "CONSOLE_TILE_MAX_ZOOM": int(env.get("CONSOLE_TILE_MAX_ZOOM", "18")),
        # The tiles' coordinate system: wgs84 (Tianditu, OpenStreetMap) or gcj02 (Amap, Tencent); the API's
        # WGS-84 cells and positions are shifted to match before they are drawn.
        "CONSOLE_TILE_COORD_SYSTEM": _one_of(env, "CONSOLE_TILE_COORD_SYSTEM", ("wgs84", "gcj02")),
        "NOTIFY_QUIET_HOURS": env.get("NOTIFY_QUIET_HOURS", "22:00-07:00"),
        # 1: what reaches an assignee's inbox (dispatch, urge, warned, overdue, reopen) also goes to their phone by SMS.
        "NOTIFY_WORKER_SMS": env.get("NOTIFY_WORKER_SMS", "0").strip().lower() in ("1", "true", "yes", "on"),
        "NOTIFY_TIMEZONE": env.get("NOTIFY_TIMEZONE", "Asia/Shanghai"),
        # The SMS channel: console (logs; the default), http (any gateway), aliyun or tencent (requirements-sms.txt).
        "SMS_CHANNEL": env.get("SMS_CHANNEL", "console"),
        "SMS_CONSOLE_FILE": env.get("SMS_CONSOLE_FILE"),  # console: also append one JSON line per message here
        # console: one readable line per message (Beijing time, masked phone, text) for people watching a demo;
        # "" turns it off.
        "SMS_LOG_FILE": env.get("SMS_LOG_FILE", str(INSTANCE_DIR / "sms.log")),
        # The signature every SMS text starts with, as carriers require (Aliyun and Tencent add their SIGN_NAME).
        "SMS_SIGNATURE": env.get("SMS_SIGNATURE", "【网格通】"),
        # Provider template codes by template name, as JSON: {"sms_ticket_resolved": "SMS_4567"}.
        "SMS_TEMPLATE_CODES": json.loads(env.get("SMS_TEMPLATE_CODES", "{}")),
        "SMS_HTTP_URL": env.get("SMS_HTTP_URL"),
        "SMS_HTTP_METHOD": env.get("SMS_HTTP_METHOD", "POST"),
        # The JSON body; string values may hold {message_id}, {phone}, {text}, {template}, {template_code};
        # a value that is exactly "{params}" becomes the template's parameters as an object.
        "SMS_HTTP_BODY_TEMPLATE": env.get("SMS_HTTP_BODY_TEMPLATE"),
        "SMS_HTTP_AUTH_HEADER": env.get("SMS_HTTP_AUTH_HEADER"),  # "Authorization: Bearer ..." (a secret)
        "SMS_HTTP_ID_FIELD": env.get("SMS_HTTP_ID_FIELD"),  # dotted path to the gateway's id in its JSON answer
        "SMS_HTTP_CONNECT_TIMEOUT": float(env.get("SMS_HTTP_CONNECT_TIMEOUT", "3")),
        "SMS_HTTP_READ_TIMEOUT": float(env.get("SMS_HTTP_READ_TIMEOUT", "10")),
        # Aliyun and Tencent (SMS_CHANNEL=aliyun|tencent): credentials are secrets, never committed. An endpoint
        # is a host (HTTPS) or a URL with its scheme. Tencent's parameters go in the order the template declares,
        # or as SMS_TEMPLATE_CODES says: {"sms_ticket_resolved": {"code": "1234567", "params": ["no", "status"]}}.
        "SMS_TIMEOUT_SECONDS": float(env.get("SMS_TIMEOUT_SECONDS", "5")),  # connect, and then read, each
        "ALIYUN_SMS_ACCESS_KEY_ID": env.get("ALIYUN_SMS_ACCESS_KEY_ID", ""),
        "ALIYUN_SMS_ACCESS_KEY_SECRET": env.get("ALIYUN_SMS_ACCESS_KEY_SECRET", ""),
        "ALIYUN_SMS_SIGN_NAME": env.get("ALIYUN_SMS_SIGN_NAME", ""),
        "ALIYUN_SMS_ENDPOINT": env.get("ALIYUN_SMS_ENDPOINT", "dysmsapi.aliyuncs.com"),
        "TENCENT_SMS_SECRET_ID": env.get("TENCENT_SMS_SECRET_ID", ""),
        "TENCENT_SMS_SECRET_KEY": env.get("TENCENT_SMS_SECRET_KEY", ""),
        "TENCENT_SMS_SDK_APP_ID": env.get("TENCENT_SMS_SDK_APP_ID", ""),
        "TENCENT_SMS_SIGN_NAME": env.get("TENCENT_SMS_SIGN_NAME", ""),
        "TENCENT_SMS_ENDPOINT": env.get("TENCENT_SMS_ENDPOINT", "sms.tencentcloudapi.com"),
        "TENCENT_SMS_REGION": env.get("TENCENT_SMS_REGION", "ap-guangzhou"),
        # Webhooks out: https only unless WEBHOOKS_ALLOW_HTTP=1 (development); each attempt's whole time limit;
        # how much of a receiver's answer is read; a CA bundle replacing the system's (a private CA).
        "WEBHOOKS_ALLOW_HTTP": env.get("WEBHOOKS_ALLOW_HTTP", "0") == "1",
        "WEBHOOK_TIMEOUT_SECONDS": float(env.get("WEBHOOK_TIMEOUT_SECONDS", "10")),
        "WEBHOOK_MAX_RESPONSE_BYTES": int(env.get("WEBHOOK_MAX_RESPONSE_BYTES", "16384")),
        "WEBHOOKS_CA_FILE": env.get("WEBHOOKS_CA_FILE") or None,
        # A PEM bundle added to the system's CAs (a government CA that signs the partners' intranet certificates).
        "WEBHOOKS_CA_BUNDLE": _existing_file(env, "WEBHOOKS_CA_BUNDLE"),
        # Private ranges the partners live in (政务外网), as CIDRs separated by commas or spaces: their addresses
        # pass the SSRF guard, except loopback, link-local, cloud metadata, multicast and this machine's own.
        "WEBHOOKS_ALLOWED_NETWORKS": _networks(env, "WEBHOOKS_ALLOWED_NETWORKS"),
        # Tests only, never read from the environment: networks the SSRF guard lets through (a local receiver).
        "WEBHOOKS_ALLOWED_TEST_NETWORKS": [],
        # Hooks in. Signed pushes (X-Grid-Timestamp) older or newer than this are refused as stale.
        "HOOKS_SIGNATURE_TOLERANCE_SECONDS": int(env.get("HOOKS_SIGNATURE_TOLERANCE_SECONDS", "300")),
        # SMS provider callbacks (replies and delivery reports) carry no signature: each provider's URL carries
        # a secret `?token=` (long and random; unset: that provider's callbacks are off, 404).
        "SMS_CALLBACK_TOKENS": {
            "aliyun": env.get("SMS_CALLBACK_TOKEN_ALIYUN", ""),
            "tencent": env.get("SMS_CALLBACK_TOKEN_TENCENT", ""),
            "http": env.get("SMS_CALLBACK_TOKEN_HTTP", ""),
        },
        # A callback about something older than this is recorded and ignored (providers retry for hours, not days).
        "SMS_CALLBACK_MAX_AGE_HOURS": int(env.get("SMS_CALLBACK_MAX_AGE_HOURS", "24")),
        # Residents' texts that are no reply become requests in the triage queue of this unit (empty: they stay
        # unmatched), at most this many per phone in 24 hours.
        "SMS_INTAKE_GRID_ID": int(env["SMS_INTAKE_GRID_ID"]) if env.get("SMS_INTAKE_GRID_ID") else None,
        "SMS_INTAKE_PER_PHONE_PER_DAY": int(env.get("SMS_INTAKE_PER_PHONE_PER_DAY", "3")),
        # The public ticket lookup (GET /api/v1/public/tickets/{no}): lookups per address per minute (0: no limit).
        "PUBLIC_LOOKUPS_PER_MINUTE_PER_ADDRESS": int(env.get("PUBLIC_LOOKUPS_PER_MINUTE_PER_ADDRESS", "10")),
        # A reply counts as an answer to the resident SMS sent to that phone within this many hours.
        "SMS_REPLY_WINDOW_HOURS": int(env.get("SMS_REPLY_WINDOW_HOURS", "168")),
        # Open311 GeoReport v2 (/open311/v2): the jurisdiction_id served (empty: any is accepted), what discovery
        # shows as the contact and as how to get an API key, the rate limits (per minute; 0: none), and how long the
        # same form from the same device counts as a client's retry rather than a new request.
        "OPEN311_JURISDICTION_ID": env.get("OPEN311_JURISDICTION_ID", ""),
        "OPEN311_CONTACT": env.get("OPEN311_CONTACT", "The operator of this grid governance service."),
        "OPEN311_KEY_SERVICE": env.get(
            "OPEN311_KEY_SERVICE", "API keys are integrations' keys, issued by this service's administrators."
        ),
        "OPEN311_REQUESTS_PER_MINUTE_PER_ADDRESS": int(env.get("OPEN311_REQUESTS_PER_MINUTE_PER_ADDRESS", "300")),
        "OPEN311_REQUESTS_PER_MINUTE_PER_KEY": int(env.get("OPEN311_REQUESTS_PER_MINUTE_PER_KEY", "60")),
        "OPEN311_RETRY_WINDOW_MINUTES": int(env.get("OPEN311_RETRY_WINDOW_MINUTES", "10")),
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
        # Reverse proxies in front of the app whose X-Forwarded-For to trust (login brakes count by address).
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", "0")),
        # GET /metrics (kernel.metrics): served to these networks, or to whoever presents this bearer token.
        "METRICS_ALLOWED_NETWORKS": _networks(env, "METRICS_ALLOWED_NETWORKS", default="127.0.0.0/8 ::1/128"),
        "METRICS_TOKEN": env.get("METRICS_TOKEN", ""),
        "JSON_AS_ASCII": False,
        "API_TITLE": "Grid governance API",
        "API_SPEC_OPTIONS": {"info": {"description": DOCS_INTRODUCTION}},
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        # Served from the app itself: government networks are often closed to public CDNs.
        "OPENAPI_SWAGGER_UI_URL": "/api/v1/docs/assets/",
    }


# The top of the docs page (Swagger UI at /api/v1/docs): how to start, in Chinese, for the people reading it.
DOCS_INTRODUCTION = """网格化社会治理平台接口（v1）。

**登录**：`POST /api/v1/auth/login`，请求体 `{"username": "…", "password": "…"}`，返回 `access_token`（访问令牌）和
`refresh_token`（刷新令牌）。

**使用令牌**：点击右上方 **Authorize**，粘贴 `access_token`（界面会自动加上 `Bearer `；直接调用时请求头写
`Authorization: Bearer <access_token>`）。令牌过期后用 `POST /api/v1/auth/refresh` 换取新令牌。

**错误格式**：所有错误都是同一结构，`code` 供程序判断（英文，固定不变），`message` 供人阅读，`details`
按字段说明原因：

```json
{"error": {"code": "validation_error", "message": "请求无效。", "details": {"username": ["缺少必填字段。"]}}}
```

**语言**：默认返回简体中文；请求头 `Accept-Language: en` 返回英文。字段名、错误码和枚举值（如
`in_progress`）始终为英文。

**生成客户端**：本文档（`/api/v1/openapi.json`）可直接生成 Python、TypeScript 等类型化客户端，步骤见仓库 README
“Generating a client (app teams)”。
"""


def normalize_database_url(url: str) -> str:
    """Accept the common `postgres://` and `postgresql://` spellings and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _networks(env: Mapping[str, str], name: str, default: str = "") -> list[str]:
    """CIDRs separated by commas or spaces, each checked (a host address with a prefix is a typo: refused)."""
    networks = []
    for item in env.get(name, default).replace(",", " ").split():
        try:
            networks.append(str(ipaddress.ip_network(item)))
        except ValueError as error:
            raise ValueError(f"{name}: {item!r} is not a network in CIDR form ({error})") from None
    return networks


def _one_of(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    """The setting, which must be one of `choices` (the first is the default); anything else stops the start."""
    value = env.get(name, choices[0]).strip().lower() or choices[0]
    if value not in choices:
        raise ValueError(f"{name}: {value!r} is not one of {', '.join(choices)}")
    return value


def _tile_url(env: Mapping[str, str]) -> str:
    """CONSOLE_TILE_URL: empty, or an http(s) XYZ template naming {z}, {x} and {y}; anything else stops the start."""
    url = env.get("CONSOLE_TILE_URL", "").strip()
    parts = urlsplit(url)
    if url and (parts.scheme not in ("http", "https") or not parts.netloc or not _names_xyz(url)):
        raise ValueError(f"CONSOLE_TILE_URL: {url!r} is not an http(s) URL with {{z}}, {{x}} and {{y}}")
    return url


def _names_xyz(url: str) -> bool:
    return all(mark in url for mark in ("{z}", "{x}", "{y}"))


def _existing_file(env: Mapping[str, str], name: str) -> str | None:
    path = env.get(name) or None
    if path is not None and not Path(path).is_file():
        raise ValueError(f"{name}: no such file {path!r}")
    return path


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
