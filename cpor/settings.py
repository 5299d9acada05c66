"""CPOR settings: one file, every deployment difference read from the environment.

DEBUG is off unless the environment turns it on: `make run` and the test suite set DEBUG=true and
then need no other variable (SQLite, Celery's filesystem broker, a private folder for PoE files,
console mail). Production leaves DEBUG off and sets SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL,
REDIS_URL, STORAGE_BACKEND=s3 and the SMTP variables; with DEBUG off every HTTPS protection is on
and `manage.py check --deploy` is clean.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CPOR_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_conn_max_age(name: str, default: int) -> int | None:
    """Seconds a database connection is kept: a whole number ≥ 0, or "none" (kept without limit)."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.strip().lower() == "none":
        return None
    value = env_int(name, default)
    if value < 0:
        raise ImproperlyConfigured(f"{name} must be 0 or more seconds (or none), got {raw!r}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-development-key-only-for-debug"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Base of every link in mail and in what `seed_demo` prints. Unset, it follows PORT (the port
# `make run` serves on), so `make run PORT=8811` mails links that open on 8811.
SITE_URL = (env_str("SITE_URL") or f"http://127.0.0.1:{env_int('PORT', 8000)}").rstrip("/")
CPOR_ENVIRONMENT = env_str("CPOR_ENVIRONMENT", "development" if DEBUG else "production")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "csp",
    "axes",
    "cpor",
    "claims",
    "reviews",
    "consent",
    "earnings",
    "accounts",
    "api",
    # The Partner API's docs page takes Swagger UI from django-ninja's own static files (no CDN).
    "ninja",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "api.middleware.ApiRejectNulMiddleware",
    "cpor.middleware.RejectNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "cpor.urls"
WSGI_APPLICATION = "cpor.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cpor.context_processors.environment",
            ],
        },
    },
]

# Database: SQLite file by default, PostgreSQL (or anything dj-database-url reads) via DATABASE_URL.
DATABASES = {
    "default": dj_database_url.parse(env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'cpor.sqlite3'}"))
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Persistent connections: opening one costs PostgreSQL a backend process and an authentication
    # round, several times the CPU of a whole dashboard's queries (issue 16 measured 7.4 ms of a
    # request's 8 ms of database CPU in connecting). A worker keeps its connection for
    # DB_CONN_MAX_AGE seconds (0: one per request, as Django's default; "none": for ever), and
    # checks it is still alive before reusing it after a request, so a restarted server or a
    # dropped connection costs one reconnect instead of a failed request.
    DATABASES["default"]["CONN_MAX_AGE"] = env_conn_max_age("DB_CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # JIT off for every connection: the planner's cost estimates switch it on for the admin's large
    # counts and searches, where compiling takes 50-90 ms and the query itself far less. Short OLTP
    # queries never gain from it. Options given in DATABASE_URL (`?options=…`) come after, so win.
    _pg_options = DATABASES["default"].setdefault("OPTIONS", {})
    _pg_options["options"] = f"-c jit=off {_pg_options.get('options', '')}".strip()
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share the file: take the write lock when a transaction begins (so a
    # reader never fails upgrading to a writer) and wait for a concurrent writer instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# django-axes first: a locked sign-in is refused before any password is checked (`accounts.auth`).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "accounts.auth.EmailBackend"]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("tr", "Türkçe")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise serves from it once collectstatic ran

# PoE files never live under a served path: a private folder by default, S3 with STORAGE_BACKEND=s3.
STORAGE_BACKEND = env_str("STORAGE_BACKEND", "local")
POE_ROOT = Path(env_str("POE_ROOT", str(VAR_DIR / "poe")))
if STORAGE_BACKEND == "s3":
    _poe_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME"),
            "region_name": env_str("AWS_S3_REGION_NAME") or None,
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
            "access_key": env_str("AWS_ACCESS_KEY_ID") or None,
            "secret_key": env_str("AWS_SECRET_ACCESS_KEY") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": env_int("AWS_QUERYSTRING_EXPIRE", 60),
            "file_overwrite": False,
        },
    }
    if not _poe_storage["OPTIONS"]["bucket_name"]:
        raise ImproperlyConfigured("STORAGE_BACKEND=s3 needs AWS_STORAGE_BUCKET_NAME")
elif STORAGE_BACKEND == "local":
    _poe_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        # base_url None: the folder is never exposed; downloads go through an authorized view.
        "OPTIONS": {"location": str(POE_ROOT), "base_url": None},
    }
else:
    raise ImproperlyConfigured(f"STORAGE_BACKEND must be 'local' or 's3', got {STORAGE_BACKEND!r}")

STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(VAR_DIR / "media")},
    },
    "poe": _poe_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Mail: console by default; SMTP when EMAIL_HOST is set (or EMAIL_BACKEND names another backend).
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "cpor.console_mail.EmailBackend",
)
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "CPOR <no-reply@cpor.example>")
CPOR_OUTBOX_MAX_ATTEMPTS = env_int("CPOR_OUTBOX_MAX_ATTEMPTS", 8)

# Celery: the filesystem transport in a local folder by default, Redis via REDIS_URL.
REDIS_URL = env_str("REDIS_URL")
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {}
    if REDIS_URL
    else {
        "data_folder_in": str(VAR_DIR / "broker" / "queue"),
        "data_folder_out": str(VAR_DIR / "broker" / "queue"),
        "processed_folder": str(VAR_DIR / "broker" / "processed"),
        "control_folder": str(VAR_DIR / "broker" / "control"),
        "store_processed": False,
    }
)
if not REDIS_URL:
    for _folder in ("queue", "processed", "control"):
        (VAR_DIR / "broker" / _folder).mkdir(parents=True, exist_ok=True)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A web request hands mail to the broker after commit; with the broker down it gives up within
# about a second (the outbox row stays queued and the beat re-drive sends it) instead of hanging.
CELERY_BROKER_CONNECTION_TIMEOUT = env_int("CELERY_BROKER_CONNECTION_TIMEOUT", 2)
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}

# Cache (rate limits): Redis when REDIS_URL is set, otherwise per-process memory.
# The cache lives in its own Redis database (REDIS_CACHE_URL, default: REDIS_URL's server, database 1),
# so clearing it never drops queued Celery messages.
REDIS_CACHE_URL = env_str("REDIS_CACHE_URL") or (
    urlunsplit(urlsplit(REDIS_URL)._replace(path="/1")) if REDIS_URL else ""
)
# A Redis outage empties the cache instead of failing requests (cpor.cache.FailOpenRedisCache).
CACHES = {
    "default": (
        {
            "BACKEND": "cpor.cache.FailOpenRedisCache",
            "LOCATION": REDIS_CACHE_URL,
            "KEY_PREFIX": "cpor",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
# The Partner API's limits per API key per minute (api.auth): reads (GET) and writes.
CPOR_API_RATE_READ = env_int("CPOR_API_RATE_READ", 600)
CPOR_API_RATE_WRITE = env_int("CPOR_API_RATE_WRITE", 120)
CPOR_CONSENT_RATE_LIMIT = env_int("CPOR_CONSENT_RATE_LIMIT", 30)  # requests per IP per minute
# The partner dashboard's and claim page's bodies are cached for this many seconds under the
# partner's claims version (claims.views): a change through the workflow shows at once, what only
# time changes (a deadline's words) within this time. 0: rendered for every request.
CPOR_PAGE_CACHE_SECONDS = env_int("CPOR_PAGE_CACHE_SECONDS", 60)

# The customer portal (consent.signin, consent.customer_session). A sign-in link works once, for
# CPOR_CUSTOMER_LINK_MINUTES from when its mail is sent. Asking for links is limited per client IP
# (per minute) and per address from one client IP (per hour: a stranger's requests never use up the
# customer's own), and the links mailed to one tenant's addresses are capped per hour
# (CPOR_CUSTOMER_SIGN_IN_PER_TENANT, which bounds mail to plus-addresses from many IPs); past a
# limit the page answers as always and sends nothing. Opening links is limited per IP per minute.
# A customer's sign-in ends after CPOR_CUSTOMER_IDLE_SECONDS without a page, and
# CPOR_CUSTOMER_SESSION_SECONDS after signing in. Sign-in link rows are deleted
# CPOR_CUSTOMER_LINK_RETENTION_DAYS after they expired (rows for unknown domains once checked).
CPOR_CUSTOMER_LINK_MINUTES = env_int("CPOR_CUSTOMER_LINK_MINUTES", 15)
CPOR_CUSTOMER_SIGN_IN_RATE_LIMIT = env_int("CPOR_CUSTOMER_SIGN_IN_RATE_LIMIT", 10)
CPOR_CUSTOMER_SIGN_IN_PER_ADDRESS = env_int("CPOR_CUSTOMER_SIGN_IN_PER_ADDRESS", 5)
CPOR_CUSTOMER_SIGN_IN_PER_TENANT = env_int("CPOR_CUSTOMER_SIGN_IN_PER_TENANT", 200)
CPOR_CUSTOMER_LINK_RETENTION_DAYS = env_int("CPOR_CUSTOMER_LINK_RETENTION_DAYS", 7)
CPOR_CUSTOMER_LINK_RATE_LIMIT = env_int("CPOR_CUSTOMER_LINK_RATE_LIMIT", 30)
CPOR_CUSTOMER_IDLE_SECONDS = env_int("CPOR_CUSTOMER_IDLE_SECONDS", 60 * 60)
CPOR_CUSTOMER_SESSION_SECONDS = env_int("CPOR_CUSTOMER_SESSION_SECONDS", 8 * 60 * 60)

# Encryption of stored secrets that must stay readable (webhook signing secrets): Fernet keys derived
# (HKDF) from each value of CPOR_ENCRYPTION_KEYS; the first encrypts, all decrypt, so a new key goes
# first and an old one stays listed until nothing is encrypted with it. Empty: derived from SECRET_KEY.
CPOR_ENCRYPTION_KEYS = env_list("CPOR_ENCRYPTION_KEYS", [])

# Webhooks (api.webhooks): seconds one delivery attempt may take in all (connect, send, the answer's
# status and headers); attempts per event (one event failing them all disables the endpoint and
# mails its admins, the event waiting for it to be enabled again); failed attempts in a row (of any
# events) before an endpoint is disabled and its admins are mailed.
# CPOR_WEBHOOK_ALLOW_LOOPBACK lets endpoints on 127.0.0.0/8 and ::1 (and plain http:// there) receive
# events, for development and tests; every other private, link-local or reserved address stays refused.
CPOR_WEBHOOK_TIMEOUT = env_int("CPOR_WEBHOOK_TIMEOUT", 10)
CPOR_WEBHOOK_MAX_ATTEMPTS = env_int("CPOR_WEBHOOK_MAX_ATTEMPTS", 10)
CPOR_WEBHOOK_DISABLE_AFTER = env_int("CPOR_WEBHOOK_DISABLE_AFTER", 20)
CPOR_WEBHOOK_ALLOW_LOOPBACK = env_bool("CPOR_WEBHOOK_ALLOW_LOOPBACK", False)
# Events and their delivery log are kept this many days (those still waiting to be delivered, longer).
CPOR_WEBHOOK_RETENTION_DAYS = env_int("CPOR_WEBHOOK_RETENTION_DAYS", 30)

# The client's address (cpor.client_ip), for sign-in locks and rate limits: X-Forwarded-For is read
# only from these proxies (addresses or networks, comma-separated), right to left. Empty: the
# connecting address is the client, whatever headers say.
CPOR_TRUSTED_PROXIES = env_list("CPOR_TRUSTED_PROXIES", [])

# Sign-in lockouts (django-axes; the portal and the admin alike, counted in the database so a
# Redis outage changes nothing): an account at one address is locked after AXES_FAILURE_LIMIT
# failures, an address after CPOR_SIGN_IN_FAILURES_PER_IP failures across accounts, each for
# CPOR_SIGN_IN_LOCK_MINUTES after the failure that locked it. Addresses are compared in their
# canonical form (accounts.auth.canonical_email).
AXES_FAILURE_LIMIT = env_int("CPOR_SIGN_IN_FAILURES", 10)
CPOR_SIGN_IN_FAILURES_PER_IP = env_int("CPOR_SIGN_IN_FAILURES_PER_IP", 50)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("CPOR_SIGN_IN_LOCK_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]  # this order: accounts.auth
AXES_HANDLER = "accounts.auth.SignInAttemptHandler"
AXES_USERNAME_CALLABLE = "accounts.auth.lockout_username"
AXES_CLIENT_IP_CALLABLE = "cpor.client_ip.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.auth.locked_out"
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # a lock ends when it said it would
AXES_VERBOSE = False
# No row per successful sign-in (axes' AccessLog would grow without bound; User.last_login says it).
AXES_DISABLE_ACCESS_LOG = True

# Business rules that operators may tune.
CPOR_HOLIDAY_COUNTRY = env_str("CPOR_HOLIDAY_COUNTRY", "US")
CPOR_POE_MAX_BYTES = env_int("CPOR_POE_MAX_BYTES", 20 * 1024 * 1024)
CPOR_POE_MAX_FILES = env_int("CPOR_POE_MAX_FILES", 20)
# An association ends (`lapse`, the daily beat job) once the subscription it names has been out of
# active/grace for longer than this many days.
# The daily earnings job writes the month before's lines only from this many days into the month:
# the usage feed reports a month some days after it ends, and written lines are never recomputed.
CPOR_EARNINGS_USAGE_DAYS = env_int("CPOR_EARNINGS_USAGE_DAYS", 5)
if CPOR_EARNINGS_USAGE_DAYS < 0 or CPOR_EARNINGS_USAGE_DAYS > 27:
    raise ImproperlyConfigured(f"CPOR_EARNINGS_USAGE_DAYS must be 0 to 27, got {CPOR_EARNINGS_USAGE_DAYS}")
CPOR_LAPSE_DAYS = env_int("CPOR_LAPSE_DAYS", 30)
if CPOR_LAPSE_DAYS < 1:
    raise ImproperlyConfigured(f"CPOR_LAPSE_DAYS must be at least 1, got {CPOR_LAPSE_DAYS}")
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

ADMIN_PATH = env_str("ADMIN_PATH", "admin/").strip("/") + "/"

# HTTPS. With DEBUG off: redirect to HTTPS, HSTS for a year on every subdomain, cookies only over
# HTTPS. HSTS is sent preload-eligible (a documented choice: every subdomain serves HTTPS); the domain
# is on browsers' preload list only once someone submits it, and set SECURE_HSTS_PRELOAD=false before
# that if a subdomain cannot. Each can be overridden for a staging host without TLS.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
# Behind a reverse proxy that terminates TLS, Django sees plain HTTP: name the header the proxy sets
# (SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto) and a request is HTTPS when it says `https`. Set it only
# when the proxy overwrites that header on every request; otherwise a client could claim HTTPS.
_proxy_ssl_header = env_str("SECURE_PROXY_SSL_HEADER").strip()
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https") if _proxy_ssl_header else None
)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
# A consent link holds its token in the path: never send a path to another site.
SECURE_REFERRER_POLICY = "same-origin"
# No page may be framed; the reviewer's PoE preview frames its own file (same origin) and says so.
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy on every response, in development and tests too, so a violation shows up
# before production: scripts and styles from our own static files only, no inline script, style or
# event handler, no nonce. PoE previews load from this site or, with S3, from the bucket's origin.
_document_origins = env_list("CPOR_CSP_DOCUMENT_ORIGINS", [])
if STORAGE_BACKEND == "s3" and not _document_origins:
    _endpoint = _poe_storage["OPTIONS"]["endpoint_url"]
    _bucket = _poe_storage["OPTIONS"]["bucket_name"]
    _region = _poe_storage["OPTIONS"]["region_name"]
    _document_origins = (
        [urlunsplit(urlsplit(_endpoint)[:2] + ("", "", ""))]
        if _endpoint
        else [f"https://{_bucket}.s3.amazonaws.com"]
        + ([f"https://{_bucket}.s3.{_region}.amazonaws.com"] if _region else [])
    )
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", *_document_origins],
        "frame-src": ["'self'", *_document_origins],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
