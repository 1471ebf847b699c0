"""Celery tasks: thin wrappers that carry ids to services.

Names say the queue (see CELERY_TASK_ROUTES): "core.gpu.*" needs the model, "core.cpu.*" does not.
Errors that pass (a database restart, a broken connection) are retried with exponential backoff;
anything else, or running out of retries, fails the job with a message the browser shows.
"""
from celery import shared_task
from celery.contrib.django.task import DjangoTask
from django.db import InterfaceError, OperationalError

from webapp.core import services

TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError, TimeoutError)
RETRY_POLICY = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 120,
    "retry_jitter": True,
    "max_retries": 5,
}


class JobTask(DjangoTask):
    """A task whose first argument is a core.Job id: a final failure is written to that job."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        services.job_fail(job_id=kwargs.get("job_id", args[0] if args else None), error=exc)


@shared_task(name="core.gpu.enhance_photo", base=JobTask, **RETRY_POLICY)
def enhance_photo(job_id: str) -> None:
    services.enhancement_job_run(job_id=job_id)


@shared_task(name="core.cpu.make_thumbnail", **RETRY_POLICY)
def make_thumbnail(photo_id: int) -> None:
    services.photo_make_thumbnail(photo_id=photo_id)


@shared_task(name="core.cpu.fail_stale_jobs")
def fail_stale_jobs() -> int:
    return services.job_fail_stale()
