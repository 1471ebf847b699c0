"""Health checks behind /healthz: database, broker, workers, active model and stuck jobs.

The database and broker are required for the site to work (HTTP 503 when either fails); no
responding worker, no active model or jobs stuck past any task's time limit (a lost worker) only
degrade it, reported with HTTP 200.
"""
from pathlib import Path

from django.conf import settings
from django.db import connection

from webapp.celery import app as celery_app
from webapp.core import selectors


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # any driver error means the same thing here: not reachable
        return {"ok": False, "error": str(error)}
    return {"ok": True, "vendor": connection.vendor}


def check_broker() -> dict:
    mode = "embedded" if settings.EMBEDDED_BROKER else "external"
    try:
        with celery_app.connection_for_read() as broker:
            broker.ensure_connection(max_retries=1, interval_start=0, timeout=2)
            url = broker.as_uri()  # password masked
    except Exception as error:  # kombu raises transport-specific errors
        return {"ok": False, "mode": mode, "error": str(error)}
    return {"ok": True, "mode": mode, "url": url}


def check_workers() -> dict:
    try:
        replies = celery_app.control.ping(timeout=settings.PIENET_HEALTH_PING_TIMEOUT)
    except Exception as error:
        return {"ok": False, "count": 0, "error": str(error)}
    names = sorted(name for reply in replies for name in reply)
    return {"ok": bool(names), "count": len(names), "names": names}


def check_model() -> dict:
    version = selectors.active_model_version()
    if version is None:
        return {"ok": False, "active": None}
    present = Path(version.checkpoint_path).is_file()
    return {
        "ok": present,
        "active": {"id": version.pk, "name": version.name, "sha256": version.sha256, "file_present": present},
    }


def check_jobs() -> dict:
    stuck = selectors.jobs_stuck_count()
    return {"ok": stuck == 0, "stuck": stuck, "stuck_after_s": settings.PIENET_JOB_STUCK_SECONDS}


def health_report() -> tuple[dict, int]:
    database = check_database()
    checks = {
        "database": database,
        "broker": check_broker(),
        "workers": check_workers(),
        "model": check_model() if database["ok"] else {"ok": False, "active": None},
        "jobs": check_jobs() if database["ok"] else {"ok": False, "stuck": None},
    }
    essential_ok = checks["database"]["ok"] and checks["broker"]["ok"]
    if not essential_ok:
        status = "error"
    elif all(check["ok"] for check in checks.values()):
        status = "ok"
    else:
        status = "degraded"
    return {"status": status, "checks": checks}, 200 if essential_ok else 503
