"""The retraining task: on the gpu queue (a worker without a GPU trains on its CPU), carrying a run id.

No automatic retries: a run that fails is recorded with its error and an admin starts another. A worker lost
mid-run gets the message again (acks_late); the run then restarts in a new folder unless the first worker is
still reporting. The time limit is the run's own (PIENET_RETRAIN_TIME_LIMIT), not the short jobs' one.
"""
from celery import shared_task
from django.conf import settings

from webapp.retraining import runner


@shared_task(
    name="retraining.gpu.run_retraining",
    soft_time_limit=settings.PIENET_RETRAIN_TIME_LIMIT,
    time_limit=settings.PIENET_RETRAIN_TIME_LIMIT + 120,
)
def run_retraining(run_id: str) -> None:
    runner.run_execute(run_id=run_id)
