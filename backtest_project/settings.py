"""Settings for the backtest service, read only from environment variables.

With no DATABASE_URL the service runs on an embedded default (SQLite file,
local-memory cache, django-q2's ORM broker) so it can be tried with no servers.
With DATABASE_URL / REDIS_URL it uses PostgreSQL + TimescaleDB and Redis.
See docs/configuration.md for every variable.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from backtest_project.env import database_from_url, env_bool, env_int, env_list, env_str
from backtest_project.observability.logs import configure_structlog, logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY in the environment, or DEBUG=1 for a "
            "local development key."
        )
    SECRET_KEY = "insecure-development-key-only-used-with-DEBUG"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # The admin modules are discovered by the URLconf (backtest_project/urls.py), not at
    # start-up: a command that serves no page does not import them and all they import.
    "django.contrib.admin.apps.SimpleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    # before django_q: its `qcluster` command replaces django-q2's (waits for the
    # services, runs the job housekeeper)
    "jobs",
    "django_q",
    "specs",
    "strategies",
    "marketdata",
    "backtests",
    "optimizers",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "backtest_project.middleware.HostileInputMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # pages inline their SVG charts: gzip takes a report from ~400 KB to ~100 KB
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "backtest_project.urls"
WSGI_APPLICATION = "backtest_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}")
DATABASES = {"default": database_from_url(DATABASE_URL, base_dir=BASE_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USES_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

# --- Cache ----------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "bt"),
            "TIMEOUT": env_int("CACHE_TIMEOUT", 3600),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 5,
            },
        }
    }
    # A cache that is down (Redis restarting) is a cache miss, logged, not a 500: reads go
    # to the database, throttles let requests through. /health still reports it down.
    DJANGO_REDIS_IGNORE_EXCEPTIONS = True
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "backtest",
            "TIMEOUT": env_int("CACHE_TIMEOUT", 3600),
            "OPTIONS": {"MAX_ENTRIES": 1000},
        }
    }

# --- Task queue (django-q2) ---------------------------------------------------
# retry must exceed timeout, or a long run is delivered a second time while the
# first worker is still on it.
Q_TIMEOUT = env_int("Q_TIMEOUT", 600)
Q_CLUSTER = {
    "name": env_str("Q_CLUSTER_NAME", "backtest"),
    "workers": env_int("Q_WORKERS", 2),
    "timeout": Q_TIMEOUT,
    "retry": Q_TIMEOUT + 60,
    "max_attempts": env_int("Q_MAX_ATTEMPTS", 2),
    # A cluster takes at most this many tasks ahead of its workers: a cluster that is
    # killed loses only these (and its running ones); the housekeeper re-sends them.
    "queue_limit": env_int("Q_QUEUE_LIMIT", 2),
    "bulk": 1,
    "catch_up": False,
    "sync": env_bool("Q_SYNC", False),
    "save_limit": 500,
    "ack_failures": True,
    "label": "Task queue",
}
if REDIS_URL:
    Q_CLUSTER["django_redis"] = "default"
else:
    Q_CLUSTER["orm"] = "default"

# --- Auth, API ----------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The site's own login page: the admin's refuses users who are not staff.
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "reports:run-list"
LOGOUT_REDIRECT_URL = "login"

# Rates are "N/second|minute|hour|day" per client address (anonymous) or per user.
API_THROTTLE_ANON = env_str("API_THROTTLE_ANON", "120/minute")
API_THROTTLE_USER = env_str("API_THROTTLE_USER", "1200/minute")
# Failed logins and bad API tokens from one address: after AUTH_FAILURE_LIMIT of them
# within AUTH_FAILURE_WINDOW seconds, that address gets 429 until the window ends.
AUTH_FAILURE_LIMIT = env_int("AUTH_FAILURE_LIMIT", 10)
AUTH_FAILURE_WINDOW = env_int("AUTH_FAILURE_WINDOW", 900)
# Proxies in front of the site that append to X-Forwarded-For (0: use REMOTE_ADDR).
NUM_PROXIES = env_int("NUM_PROXIES", 0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "backtest_project.throttling.LimitedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["inputs.parsers.SafeJSONParser"],
    "DEFAULT_THROTTLE_CLASSES": [
        "backtest_project.throttling.AnonThrottle",
        "backtest_project.throttling.UserThrottle",
    ],
    "NUM_PROXIES": NUM_PROXIES,
    "DEFAULT_PAGINATION_CLASS": "backtest_project.pagination.PagePagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "backtest_project.api_schema.ApiSchema",
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "backtest_project.errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Backtest service API",
    "DESCRIPTION": "Specs, backtest runs, sweeps and candle coverage.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Request bodies get their own components (required strings non-empty, no read-only fields).
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from the project's own static files, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Swagger UI's default sends the schema to an online validator for a badge.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}

# --- I18N, static -------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# 24-hour ISO-like dates in UTC everywhere (backtest_project/formats/en/formats.py).
FORMAT_MODULE_PATH = ["backtest_project.formats"]
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "var" / "static")))
try:  # WhiteNoise warns on a missing root; a read-only image has it from collectstatic.
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
except OSError:
    pass
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST", not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Security headers (docs/configuration.md lists a production environment) ----------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY") else None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# A load balancer probes /health over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^health$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
# Every script is a file of the project's; styles may be inline (report pages inline
# their CSS, matplotlib's SVG charts carry <style> elements); charts may be data: URIs.
_CSP = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        **({"report-uri": [env_str("CSP_REPORT_URI")]} if env_str("CSP_REPORT_URI") else {}),
    }
}
# CSP_REPORT_ONLY=1 reports violations without blocking (to try a policy change).
if env_bool("CSP_REPORT_ONLY", False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = _CSP
else:
    CONTENT_SECURITY_POLICY = _CSP

# --- Product limits -----------------------------------------------------------
SPEC_MAX_BYTES = env_int("SPEC_MAX_BYTES", 256 * 1024)
# Bounded requests: a body longer than this (uploads included) is answered 413 before
# it is read. JSON spec bodies need twice SPEC_MAX_BYTES (YAML text inside JSON grows).
REQUEST_MAX_BYTES = env_int("REQUEST_MAX_BYTES", max(1024 * 1024, 2 * SPEC_MAX_BYTES + 64 * 1024))
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_MAX_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = REQUEST_MAX_BYTES
# Candle files (load_candles): decompressed size, rows, and how much a compressed file
# may expand per byte (real CSVs compress 3-10x; a "zip bomb" 100-1000x).
CANDLE_MAX_BYTES = env_int("CANDLE_MAX_BYTES", 512 * 1024 * 1024)
CANDLE_MAX_ROWS = env_int("CANDLE_MAX_ROWS", 10_000_000)
CANDLE_MAX_EXPANSION = env_int("CANDLE_MAX_EXPANSION", 100)
SWEEP_MAX_COMBINATIONS = env_int("SWEEP_MAX_COMBINATIONS", 100_000)

# --- Jobs: heartbeats and the housekeeper (docs/operations.md) -------------------
# A running job beats every JOB_HEARTBEAT_SECONDS; after JOB_STALE_SECONDS without a
# beat its worker counts as dead and the job is requeued, up to JOB_MAX_ATTEMPTS claims.
# A queued job whose task is not waiting in the broker JOB_RESEND_SECONDS after it was
# sent is sent again. Every qcluster runs the housekeeper every JOB_HOUSEKEEPING_SECONDS.
JOB_HEARTBEAT_SECONDS = env_int("JOB_HEARTBEAT_SECONDS", 5)
JOB_STALE_SECONDS = env_int("JOB_STALE_SECONDS", 20)
JOB_MAX_ATTEMPTS = env_int("JOB_MAX_ATTEMPTS", 3)
JOB_RESEND_SECONDS = env_int("JOB_RESEND_SECONDS", 30)
JOB_HOUSEKEEPING_SECONDS = env_int("JOB_HOUSEKEEPING_SECONDS", 5)
REPORT_CHART_CACHE_SECONDS = env_int("REPORT_CHART_CACHE_SECONDS", 7 * 24 * 3600)

# --- Live data: the live trading system's Redis (only ever read) -------------------
# Unset: no live source; reads come from the database alone and the sync does nothing.
LIVE_REDIS_URL = env_str("LIVE_REDIS_URL")
LIVE_KEY_PATTERN = env_str("LIVE_KEY_PATTERN", "candles_with_indicators:{symbol}:{timeframe}")
LIVE_SYNC_MINUTES = env_int("LIVE_SYNC_MINUTES", 1)
LIVE_TIMEOUT_SECONDS = env_int("LIVE_TIMEOUT_SECONDS", 5)
# Retention of raw candles (0: keep them all) and the rollups kept beyond it.
CANDLE_RETENTION_DAYS = env_int("CANDLE_RETENTION_DAYS", 0)
CANDLE_ROLLUPS = env_list("CANDLE_ROLLUPS", ["1h", "1d"])
CANDLE_MAINTENANCE_MINUTES = env_int("CANDLE_MAINTENANCE_MINUTES", 60)

# === Observability: logs and metrics (docs/operations.md) ===========================
# Everything of logging and Prometheus is in this block: the structured LOGGING, the
# /metrics settings, and the apps, middleware and instrumented backends it adds.
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOG_FORMAT = env_str("LOG_FORMAT", "console" if DEBUG else "json").lower()
configure_structlog()
LOGGING = logging_config(level=LOG_LEVEL, fmt=LOG_FORMAT)
# Keep an X-Request-ID sent by the proxy (nginx sets its own; a malformed one is replaced).
DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = env_bool("TRUST_REQUEST_ID", True)

# /metrics: allowed from METRICS_ALLOWED_IPS (addresses or networks; "none" for no
# address) or with "Authorization: Bearer $METRICS_TOKEN". A worker host serves its own
# /metrics on METRICS_PORT (0: off) at METRICS_ADDR.
METRICS_TOKEN = env_str("METRICS_TOKEN")
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", ["127.0.0.1", "::1"])
try:
    METRICS_ALLOWED_NETWORKS = [
        ipaddress.ip_network(item, strict=False) for item in METRICS_ALLOWED_IPS if item.lower() != "none"
    ]
except ValueError as exc:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {exc}") from None
METRICS_PORT = env_int("METRICS_PORT", 0)
METRICS_ADDR = env_str("METRICS_ADDR", "127.0.0.1")
METRICS_DISK_PATHS = env_list("METRICS_DISK_PATHS", [str(BASE_DIR)])
# prometheus-client's multiprocess mode: every process of the service on this host
# writes its metrics into this directory, and a scrape sums them (scripts/serve.sh and
# the Dockerfile set it; prometheus-client reads it from the environment).
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

INSTALLED_APPS += ["django_prometheus", "django_structlog", "backtest_project.observability"]
MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    *MIDDLEWARE,
    "django_structlog.middlewares.RequestMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]
# Query counts and durations, cache hits and misses: django-prometheus's instrumented
# twins of the backends chosen above (same behaviour, same options).
DATABASES["default"]["ENGINE"] = DATABASES["default"]["ENGINE"].replace(
    "django.db.backends.", "django_prometheus.db.backends."
)
CACHES["default"]["BACKEND"] = {
    "django_redis.cache.RedisCache": "django_prometheus.cache.backends.redis.RedisCache",
    "django.core.cache.backends.locmem.LocMemCache": "django_prometheus.cache.backends.locmem.LocMemCache",
}[CACHES["default"]["BACKEND"]]
# === end of observability ================================================================
