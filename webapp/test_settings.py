"""Settings for the test suite: the production settings module plus real local services.

PostgreSQL and Redis are used when they answer (as in CI, where `CI=true` makes their absence a
failure: see the root conftest.py); otherwise the suite falls back to SQLite and the embedded
filesystem broker so a developer without services still gets a run.
"""
import os
import socket
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

# PIENET_TEST_INSTANCE keeps concurrent suites on one machine apart (own state folder and test database).
TEST_INSTANCE = os.environ.get("PIENET_TEST_INSTANCE", "")
TEST_STATE_DIR = Path(tempfile.gettempdir()) / f"pienet-tests-{os.getuid()}{'-' + TEST_INSTANCE if TEST_INSTANCE else ''}"
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-that-is-long-enough-for-django-checks-0123456789")
os.environ.setdefault("PIENET_VAR_DIR", str(TEST_STATE_DIR / "var"))

POSTGRES_TEST_URL = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def service_reachable(url: str, timeout: float = 1.0) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=timeout):
            return True
    except OSError:
        return False


POSTGRES_AVAILABLE = service_reachable(POSTGRES_TEST_URL)
REDIS_AVAILABLE = service_reachable(REDIS_TEST_URL)

from webapp.settings import *  # noqa: E402,F403  (the settings under test, then test-only changes)
from webapp.settings import DATABASES, STORAGES  # noqa: E402

if POSTGRES_AVAILABLE:
    DATABASES["default"] = dj_database_url.parse(POSTGRES_TEST_URL)  # noqa: F405
    if TEST_INSTANCE:
        DATABASES["default"]["TEST"] = {"NAME": f"test_pienet_{TEST_INSTANCE}"}
else:
    # A file, not memory, so that worker processes started by tests see the same test database.
    DATABASES["default"]["TEST"] = {"NAME": str(TEST_STATE_DIR / "test.sqlite3")}
if REDIS_AVAILABLE:
    CELERY_BROKER_URL = REDIS_TEST_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
    EMBEDDED_BROKER = False
    BROKER_FOLDERS = []

# Templates use {% static %} without a collectstatic run; no HTTPS redirects for the test client.
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
SECURE_SSL_REDIRECT = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
