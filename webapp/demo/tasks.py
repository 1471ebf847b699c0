"""Celery tasks of the demo: thin wrappers that carry ids to services (see core.tasks for the policy)."""
from celery import shared_task

from webapp.core.tasks import RETRY_POLICY, BestEffortTask, JobTask
from webapp.demo import services


@shared_task(name="demo.gpu.render", base=JobTask, **RETRY_POLICY)
def render(job_id: str) -> None:
    services.render_run(job_id=job_id)


@shared_task(name="demo.gpu.render_style_previews", base=BestEffortTask, **RETRY_POLICY)
def render_style_previews(model_version_id: int) -> int:
    return services.style_previews_render(model_version_id=model_version_id)


@shared_task(name="demo.gpu.render_upload_previews", base=BestEffortTask, **RETRY_POLICY)
def render_upload_previews(upload_id: int, model_version_id: int) -> int:
    return services.upload_previews_render(upload_id=upload_id, model_version_id=model_version_id)


@shared_task(name="demo.cpu.delete_expired")
def delete_expired() -> int:
    return services.uploads_delete_expired()
