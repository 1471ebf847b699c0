"""/healthz, the home page, structured logs and Celery routing."""
import json
import logging
import re
from pathlib import Path

import pytest

from webapp.celery import app as celery_app
from webapp.core import services
from webapp.log_format import JsonFormatter

pytestmark = pytest.mark.django_db


def test_healthz_reports_each_part(client, tiny_checkpoint, settings):
    settings.PIENET_HEALTH_PING_TIMEOUT = 0.2
    response = client.get("/healthz")
    report = response.json()
    assert response.status_code == 200
    assert report["checks"]["database"]["ok"] is True
    assert report["checks"]["broker"]["ok"] is True
    assert report["checks"]["model"] == {"ok": False, "active": None}
    assert report["status"] == "degraded"  # no worker answers in this test, no model yet

    version, _ = services.model_version_register(checkpoint_path=tiny_checkpoint, activate=True)
    model = client.get("/healthz").json()["checks"]["model"]
    assert model["ok"] is True and model["active"]["sha256"] == version.sha256


def test_healthz_fails_when_the_broker_is_unreachable(client, settings, monkeypatch):
    settings.PIENET_HEALTH_PING_TIMEOUT = 0.2
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:9/0")
    monkeypatch.setattr(celery_app.conf, "broker_transport_options", {})
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "error" and response.json()["checks"]["broker"]["ok"] is False


def test_home_page_says_what_the_product_is(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "PieNet Studio" in html and "Personalized image enhancement" in html
    assert "No model active yet" in html


def test_tasks_are_routed_by_queue():
    router = celery_app.amqp.router
    assert router.route({}, "core.gpu.enhance_photo")["queue"].name == "gpu"
    assert router.route({}, "core.cpu.make_thumbnail")["queue"].name == "cpu"
    assert celery_app.conf.task_acks_late and celery_app.conf.task_reject_on_worker_lost
    assert celery_app.conf.worker_prefetch_multiplier == 1


def test_logs_are_json_with_extra_fields():
    record = logging.LogRecord("webapp.test", logging.INFO, __file__, 1, "job_done %s", ("now",), None)
    record.job_id = "abc"
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "job_done now" and entry["job_id"] == "abc" and entry["level"] == "INFO"


@pytest.mark.django_db
def test_pages_send_a_content_security_policy_that_runs_only_our_scripts(client):
    policy = client.get("/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'" and directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'" and "unsafe-inline" not in directives["script-src"]


def test_no_template_carries_an_inline_script_or_event_handler():
    """Inline code would be blocked by the policy above, so none may be written."""
    offenders = []
    for template in Path("templates").rglob("*.html"):
        text = template.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) or re.search(r"\son[a-z]+\s*=", text):
            offenders.append(str(template))
    assert not offenders
