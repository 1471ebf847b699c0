"""Celery tasks: thin wrappers that carry ids to services.

Names say the queue (see CELERY_TASK_ROUTES): "core.gpu.*" needs the model, "core.cpu.*" does not.
Errors that pass (a database restart, a broken connection) are retried with exponential backoff;
anything else, or running out of retries, fails the job with a message the browser shows.
"""
import logging

from celery import shared_task
from celery.contrib.django.task import DjangoTask
from django.db import InterfaceError, OperationalError
from kombu.exceptions import OperationalError as BrokerUnavailable
from redis.exceptions import RedisError

from webapp.core import services

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError, TimeoutError)
RETRY_POLICY = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 120,
    "retry_jitter": True,
    "max_retries": 5,
}


class BestEffortTask(DjangoTask):
    """A broker that cannot take the message (Redis down) is logged, not raised: enqueueing runs after the
    commit, so raising would answer 500 for work already saved."""

    def apply_async(self, args=None, kwargs=None, **options):
        try:
            return super().apply_async(args, kwargs, **options)
        except (BrokerUnavailable, RedisError, OSError) as error:
            logger.error("enqueue_failed", extra={"task": self.name, "error": str(error)})
            self.enqueue_failed(args or (), kwargs or {})
            return None

    def enqueue_failed(self, args, kwargs) -> None:
        """Work that can be done later (a thumbnail, previews) is only logged."""


class JobTask(BestEffortTask):
    """A task whose first argument is a core.Job id: a final failure is written to that job, and so is a
    message the broker would not take, so the job does not wait forever."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        services.job_fail(job_id=self._job_id(args, kwargs), error=exc)

    def enqueue_failed(self, args, kwargs) -> None:
        services.job_fail(job_id=self._job_id(args, kwargs), error=services.ServiceError(
            "The work queue cannot be reached right now, so this was not started; please try again shortly."
        ))

    @staticmethod
    def _job_id(args, kwargs):
        return kwargs.get("job_id", args[0] if args else None)


@shared_task(name="core.gpu.enhance_photo", base=JobTask, **RETRY_POLICY)
def enhance_photo(job_id: str) -> None:
    services.enhancement_job_run(job_id=job_id)


@shared_task(name="core.cpu.make_thumbnail", base=BestEffortTask, **RETRY_POLICY)
def make_thumbnail(photo_id: int) -> None:
    services.photo_make_thumbnail(photo_id=photo_id)


@shared_task(name="core.cpu.fail_stale_jobs")
def fail_stale_jobs() -> int:
    return services.job_fail_stale()
