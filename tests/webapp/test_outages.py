"""Redis down and workers lost: the site keeps answering, and no job waits forever.

The cache outage is a cache pointed at a port where nothing listens; the broker outage is the Celery
app's broker URL pointed there (its connection pools emptied so the next publish really connects).
"""
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from tests.demo.helpers import jpeg, render, upload
from tests.studies.helpers import researcher
from tests.webapp.helpers import jpeg_bytes
from webapp.celery import app as celery_app
from webapp.core import services
from webapp.core.health import health_report
from webapp.core.models import Job

DEAD_REDIS = "redis://127.0.0.1:1/0"
pytestmark = pytest.mark.django_db


@pytest.fixture
def cache_down(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": DEAD_REDIS}}


@pytest.fixture
def broker_down(redis_broker):
    original = celery_app.conf.broker_url

    def reset_pools():
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    celery_app.conf.broker_url = DEAD_REDIS
    celery_app.conf.broker_connection_max_retries = 1
    reset_pools()
    yield
    celery_app.conf.broker_url = original
    reset_pools()


def test_the_api_answers_while_the_cache_is_down(cache_down, tiny_checkpoint):
    services.model_version_register(checkpoint_path=tiny_checkpoint, name="a", activate=True)
    assert APIClient().get("/api/models/").status_code == 200  # the anonymous throttle lets it through
    assert APIClient().get("/api/models/active/").json()["name"] == "a"


def test_a_job_the_broker_will_not_take_fails_with_a_sentence(broker_down, django_capture_on_commit_callbacks,
                                                               tiny_checkpoint):
    services.model_version_register(checkpoint_path=tiny_checkpoint, activate=True)
    photo, _ = services.photo_create(data=jpeg_bytes(seed=71), title="outage")
    client = APIClient()
    client.force_login(researcher())
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/enhancements/", {"photo": photo.pk, "style": "bright"}, format="json")
    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["id"])
    assert job.status == Job.Status.FAILED and "work queue cannot be reached" in job.error


def _stuck(job: Job) -> Job:
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, progress=40,
                                         updated_at=timezone.now() - timedelta(hours=1))
    job.refresh_from_db()
    return job


def test_health_reports_jobs_stuck_past_any_tasks_time_limit(tiny_checkpoint):
    photo, _ = services.photo_create(data=jpeg_bytes(seed=72), title="stuck")
    fresh = Job.objects.create(kind=Job.Kind.ENHANCE, photo=photo, params={})
    assert health_report()[0]["checks"]["jobs"]["stuck"] == 0
    _stuck(fresh)
    report, status = health_report()
    assert report["checks"]["jobs"] == {"ok": False, "stuck": 1, "stuck_after_s": report["checks"]["jobs"]["stuck_after_s"]}
    assert report["status"] in ("degraded", "error")


def test_asking_again_for_a_stuck_demo_rendering_queues_it_again(tiny_checkpoint, django_capture_on_commit_callbacks):
    services.model_version_register(checkpoint_path=tiny_checkpoint, activate=True)
    visitor = Client()
    token = upload(visitor, jpeg(64, 48)).json()["token"]
    with django_capture_on_commit_callbacks(execute=False) as first:
        result = render(visitor, token, style="bright").json()
    assert len(first) == 1
    job = _stuck(Job.objects.get(params__demo_result=result["token"]))
    with django_capture_on_commit_callbacks(execute=False) as again:
        polled = render(visitor, token, style="bright").json()
    assert polled["token"] == result["token"] and len(again) == 1
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED and job.updated_at > timezone.now() - timedelta(minutes=1)
    with django_capture_on_commit_callbacks(execute=False) as once_more:  # no longer stuck: not queued twice
        render(visitor, token, style="bright")
    assert len(once_more) == 0
