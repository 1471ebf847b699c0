"""Django settings for PieNet Studio, read from the environment (12-factor).

Two ways to run share this one module:
* embedded default: no variables set -> SQLite file and a filesystem message broker under var/,
  a local Celery worker started next to the web server (`manage.py rundemo`);
* full stack: DATABASE_URL (PostgreSQL) and REDIS_URL / CELERY_BROKER_URL (Redis) point at real
  services and any number of Celery workers run on other machines.
The README's configuration table lists every variable.
"""
import json
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None


def env_float(name: str, default: float | None) -> float | None:
    """A number, or `default` when the variable is unset or empty."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}") from None


def env_json(name: str, default: dict) -> dict:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return json.loads(value)
    except json.JSONDecodeError as error:
        raise ImproperlyConfigured(f"{name} must be JSON: {error}") from None


# --- Core -----------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (set DEBUG=1 for local work).")
    SECRET_KEY = "insecure-local-development-key-only-used-when-DEBUG-is-on"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Everything a running instance writes (SQLite file, broker folders, media, collected static)
# lives under one directory so that a checkout stays clean and a volume can hold it in Docker.
VAR_DIR = Path(os.environ.get("PIENET_VAR_DIR", BASE_DIR / "var")).resolve()

# Apps the platform is made of; feature apps (participants, studies, demo) append themselves here.
PROJECT_APPS = [
    "webapp.core",
    "webapp.participants",
    "webapp.demo",
    "webapp.retraining",
    "studies",
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    *PROJECT_APPS,
]

MIDDLEWARE = [
    "webapp.core.middleware.RequestBodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "webapp.core.logins.LoginThrottleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "webapp.urls"
WSGI_APPLICATION = "webapp.wsgi.application"

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

# --- Database -------------------------------------------------------------------------------

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'pienet.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the local worker write concurrently: wait for locks instead of failing,
    # take the write lock up front and let readers proceed during writes (WAL).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Redis, cache and Celery ----------------------------------------------------------------

REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "") or REDIS_URL or "filesystem://localhost//"
EMBEDDED_BROKER = CELERY_BROKER_URL.startswith("filesystem://")

if EMBEDDED_BROKER:
    BROKER_DIR = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "messages"),
        "data_folder_out": str(BROKER_DIR / "messages"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        "polling_interval": 0.2,
    }
    # Made when Django starts (webapp.core.apps), not here: importing settings writes nothing.
    BROKER_FOLDERS = [BROKER_DIR / folder for folder in ("messages", "processed", "control")]
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = env_json("CELERY_BROKER_TRANSPORT_OPTIONS", {})
    BROKER_FOLDERS = []

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Jobs live in the database (core.Job); Celery only carries job ids, so no result backend.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A task is acknowledged after it finished, and re-queued when its worker dies mid-task:
# tasks are idempotent, so running one twice is safe, losing one is not.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 900)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 60
# A message a dead worker took is handed out again after the visibility timeout: fit it to the longest
# job task (not Redis's one hour). A retraining run outlives it, and a redelivered run finds its first
# worker still beating and stops (webapp.retraining.runner._claim).
if not EMBEDDED_BROKER:
    CELERY_BROKER_TRANSPORT_OPTIONS.setdefault("visibility_timeout", CELERY_TASK_TIME_LIMIT + 60)
# A queued or running job untouched for longer than any task may run has lost its worker: health reports
# it, and asking for the same work again queues it afresh.
PIENET_JOB_STUCK_SECONDS = env_int("PIENET_JOB_STUCK_SECONDS", CELERY_TASK_TIME_LIMIT + 60)
# Task names say where they run: "<app>.gpu.<name>" needs the model, "<app>.cpu.<name>" does not.
CELERY_TASK_DEFAULT_QUEUE = "cpu"
CELERY_TASK_ROUTES = {
    "*.gpu.*": {"queue": "gpu"},
    "*.cpu.*": {"queue": "cpu"},
}
CELERY_BEAT_SCHEDULE = {
    "fail-stale-jobs": {"task": "core.cpu.fail_stale_jobs", "schedule": 600.0},
    "demo-delete-expired": {"task": "demo.cpu.delete_expired", "schedule": 3600.0},
}

# --- Files ----------------------------------------------------------------------------------

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "staticfiles"))
MEDIA_URL = os.environ.get("MEDIA_URL", "/media/")
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))

# Media (uploads, thumbnails, enhanced results) go through Django's storage API, so S3 works by
# setting MEDIA_STORAGE_BACKEND=storages.backends.s3.S3Storage (pip install django-storages[s3])
# and MEDIA_STORAGE_OPTIONS='{"bucket_name": "..."}'; credentials come from boto3's environment.
STORAGES = {
    "default": {
        "BACKEND": os.environ.get("MEDIA_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"),
        "OPTIONS": env_json("MEDIA_STORAGE_OPTIONS", {}),
    },
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage",
    },
}
SERVE_MEDIA = env_bool("SERVE_MEDIA", DEBUG or EMBEDDED_BROKER)

# Private files (the demo's uploaded originals): a folder outside MEDIA_ROOT that no URL serves;
# shared by the web and worker machines like the media storage.
PIENET_PRIVATE_ROOT = Path(os.environ.get("PIENET_PRIVATE_ROOT", VAR_DIR / "private")).resolve()

PIENET_MAX_UPLOAD_BYTES = env_int("PIENET_MAX_UPLOAD_BYTES", 25 * 1024 * 1024)
PIENET_MAX_UPLOAD_PIXELS = env_int("PIENET_MAX_UPLOAD_PIXELS", 50_000_000)
# The largest request body accepted at all: an upload plus its form fields (webapp.core.middleware).
PIENET_MAX_REQUEST_BYTES = PIENET_MAX_UPLOAD_BYTES + 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = PIENET_MAX_REQUEST_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- PieNet ---------------------------------------------------------------------------------

_shared_photos = BASE_DIR.parent / "shared" / "data" / "photos"
PIENET_PHOTOS_DIR = os.environ.get("PIENET_PHOTOS_DIR") or (str(_shared_photos) if _shared_photos.is_dir() else "")
PIENET_CHECKPOINT = os.environ.get("PIENET_CHECKPOINT", str(BASE_DIR / "checkpoints" / "pienet.pt"))
PIENET_DEVICE = os.environ.get("PIENET_DEVICE", "auto")
PIENET_THUMBNAIL_SIZE = env_int("PIENET_THUMBNAIL_SIZE", 384)
PIENET_SCREEN_SIZE = env_int("PIENET_SCREEN_SIZE", 1280)
PIENET_STALE_JOB_MINUTES = env_int("PIENET_STALE_JOB_MINUTES", 60)
PIENET_HEALTH_PING_TIMEOUT = env_float("PIENET_HEALTH_PING_TIMEOUT", 1.0)
# Retraining from participants' labels (webapp/retraining; README "Retraining from labels").
PIENET_RETRAIN_DIR = Path(os.environ.get("PIENET_RETRAIN_DIR", VAR_DIR / "retraining")).resolve()
PIENET_RETRAIN_MIN_PARTICIPANTS = env_int("PIENET_RETRAIN_MIN_PARTICIPANTS", 5)
PIENET_RETRAIN_MIN_PICKS = env_int("PIENET_RETRAIN_MIN_PICKS", 100)
PIENET_RETRAIN_MIN_PICKS_PER_PARTICIPANT = env_int("PIENET_RETRAIN_MIN_PICKS_PER_PARTICIPANT", 4)
PIENET_RETRAIN_RECIPE = env_json("PIENET_RETRAIN_RECIPE", {})
PIENET_RETRAIN_BENCHMARK_DIR = os.environ.get("PIENET_RETRAIN_BENCHMARK_DIR", "")
PIENET_RETRAIN_BENCHMARK_LIMIT = env_int("PIENET_RETRAIN_BENCHMARK_LIMIT", 20)
# Held-out PSNR gain (dB) that promotes a retrained model by itself; empty (None): an admin always decides.
PIENET_RETRAIN_AUTO_PROMOTE_MARGIN = env_float("PIENET_RETRAIN_AUTO_PROMOTE_MARGIN", None)
PIENET_RETRAIN_TIME_LIMIT = env_int("PIENET_RETRAIN_TIME_LIMIT", 6 * 3600)
PIENET_RETRAIN_STALE_MINUTES = env_int("PIENET_RETRAIN_STALE_MINUTES", 30)
# Public demo: per-client rates ("N/hour", empty = none), retention of visitors' photos, queue bound.
PIENET_DEMO_RATES = {scope: os.environ.get(f"PIENET_DEMO_{scope.upper()}_RATE", rate)
                     for scope, rate in {"upload": "30/hour", "render": "300/hour", "poll": "5000/hour"}.items()}
PIENET_DEMO_RETENTION_HOURS = env_int("PIENET_DEMO_RETENTION_HOURS", 24)
PIENET_DEMO_MAX_WAITING = env_int("PIENET_DEMO_MAX_WAITING", 50)
PIENET_DEMO_ROUND = os.environ.get("PIENET_DEMO_ROUND", "my-style")
PIENET_DEMO_DEFAULT_STYLE = os.environ.get("PIENET_DEMO_DEFAULT_STYLE", "vivid")

# --- API ------------------------------------------------------------------------------------

# Deny by default: each API view names who may use it (webapp.core.permissions). Sessions only (no Basic
# auth: a password is never sent with every request, and guessing goes through the throttled login form).
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["webapp.core.permissions.DenyByDefault"],
    "DEFAULT_THROTTLE_CLASSES": ["webapp.core.throttles.AnonymousThrottle"],
    # Service errors answer 400/403/409/503 with their message (webapp.core.errors), in every API.
    "EXCEPTION_HANDLER": "webapp.core.exception_handler.service_exception_handler",
}
# Rates per client address (webapp.core.clients): anonymous API use, and a participant's session.
PIENET_RATES = {
    "anon": os.environ.get("API_ANON_RATE", "600/hour"),
    "participant": os.environ.get("PIENET_PARTICIPANT_RATE", "5000/hour"),
}
# Failed sign-ins allowed per account and per client address within the window (webapp.core.logins).
PIENET_LOGIN_URL_NAMES = ["studies:login", "admin:login"]
PIENET_LOGIN_FAILURES_PER_ACCOUNT = env_int("PIENET_LOGIN_FAILURES_PER_ACCOUNT", 10)
PIENET_LOGIN_FAILURES_PER_ADDRESS = env_int("PIENET_LOGIN_FAILURES_PER_ADDRESS", 50)
PIENET_LOGIN_WINDOW_SECONDS = env_int("PIENET_LOGIN_WINDOW_SECONDS", 900)
# How many reverse proxies in front of the site append to X-Forwarded-For (docker-compose: nginx, 1).
PIENET_TRUSTED_PROXIES = env_int("PIENET_TRUSTED_PROXIES", 0)
SPECTACULAR_SETTINGS = {
    "TITLE": "PieNet Studio API",
    "DESCRIPTION": "Personalized image enhancement: photos, enhancement jobs and the model registry.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",  # served from our static files, never a CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# --- Security (production defaults; each can be relaxed through the environment) -------------

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
if env_bool("USE_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): scripts only from our own static files, so injected markup can
# run nothing; inline style attributes stay allowed (the demo sizes each photo's frame from its own
# aspect ratio), which cannot run code. Media may come from a storage origin (S3) named by MEDIA_URL.
_MEDIA_ORIGIN = "/".join(MEDIA_URL.split("/")[:3]) if MEDIA_URL.startswith(("http://", "https://")) else None
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:", *([_MEDIA_ORIGIN] if _MEDIA_ORIGIN else [])],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Logging: one JSON object per line, for the web server and the workers alike -------------

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "webapp.log_format.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "celery": {"level": LOG_LEVEL},
    },
}
