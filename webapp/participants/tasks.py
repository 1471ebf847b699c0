"""Celery tasks of the participant flow: thin wrappers that carry job ids to services.

"participants.cpu.*" need no model; "participants.gpu.*" load the job's model version (once per
worker process, through core.model_runtime). Failures are written to the job, like core's tasks.
"""
from celery import shared_task

from webapp.core.tasks import RETRY_POLICY, JobTask
from webapp.participants import services


@shared_task(name="participants.cpu.render_retouch_candidates", base=JobTask, **RETRY_POLICY)
def render_retouch_candidates(job_id: str) -> None:
    services.candidates_render_retouch(job_id=job_id)


@shared_task(name="participants.gpu.render_pienet_candidates", base=JobTask, **RETRY_POLICY)
def render_pienet_candidates(job_id: str) -> None:
    services.candidates_render_pienet_and_embed(job_id=job_id)


@shared_task(name="participants.cpu.compute_preference", base=JobTask, **RETRY_POLICY)
def compute_preference(job_id: str) -> None:
    services.preference_compute(job_id=job_id)


@shared_task(name="participants.gpu.recompute_preferences", base=JobTask, **RETRY_POLICY)
def recompute_preferences(job_id: str) -> None:
    services.preferences_recompute(job_id=job_id)
