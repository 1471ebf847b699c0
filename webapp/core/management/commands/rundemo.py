import signal
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Run the whole site on one machine: migrate, seed the demo, start a local Celery worker "
        "for both queues next to the web server, and serve http://HOST:PORT until interrupted."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")
        parser.add_argument("--skip-seed", action="store_true", help="Do not import demo photos or the model.")

    def handle(self, *args, host, port, skip_seed, **options):
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        if not skip_seed:
            call_command("seed_demo")
        broker = "embedded filesystem broker" if settings.EMBEDDED_BROKER else settings.CELERY_BROKER_URL
        self.stdout.write(f"Starting a local worker for queues gpu,cpu ({broker}).")
        # Same worker as in the full stack, with one process: the model is loaded once and kept.
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "webapp", "worker", "--queues", "gpu,cpu",
             "--pool", "solo", "--hostname", "demo@%h", "--loglevel", "INFO"]
        )
        # Stop the worker too when the demo is stopped by SIGTERM (Ctrl-C already unwinds to `finally`).
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
        try:
            call_command("runserver", f"{host}:{port}", use_reloader=False)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
