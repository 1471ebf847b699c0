"""The Celery application shared by the web process and every worker.

Configuration comes from Django settings (CELERY_* names), so the embedded filesystem broker and
Redis are chosen by the same environment variables as the rest of the site.
"""
import os
from logging.config import dictConfig

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

app = Celery("webapp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def use_django_logging(**kwargs):
    """Workers log like the web process (JSON lines at LOG_LEVEL) instead of Celery's own setup,
    which would also lower the root logger to the worker's --loglevel."""
    from django.conf import settings

    dictConfig(settings.LOGGING)
