"""Celery tasks of studies: thin wrappers that carry job ids to the rendering (see core.tasks for the policy).

"studies.cpu.render_trials" renders what needs no model and hands over to
"studies.gpu.render_trials_pienet", which loads the study's model (once per worker process).
"""
from celery import shared_task

from studies import rendering
from webapp.core.tasks import RETRY_POLICY, JobTask


@shared_task(name="studies.cpu.render_trials", base=JobTask, **RETRY_POLICY)
def render_trials(job_id: str) -> None:
    rendering.trials_render_cpu(job_id=job_id)


@shared_task(name="studies.gpu.render_trials_pienet", base=JobTask, **RETRY_POLICY)
def render_trials_pienet(job_id: str) -> None:
    rendering.trials_render_gpu(job_id=job_id)
