from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from webapp.core import selectors as core_selectors
from webapp.participants import services


class Command(BaseCommand):
    help = (
        "Compute and store, in this process, the embedding of every candidate that the active model has "
        "not embedded yet (candidates rendered before a model was active, or after switching models)."
    )

    def handle(self, *args, **options):
        version = core_selectors.active_model_version()
        if version is None:
            raise CommandError("No model is active; register one with `manage.py register_model PATH --activate`.",
                               returncode=2)
        count = services.candidates_embed(
            model_version=version, progress=lambda batches: tqdm(batches, desc="embedding", unit="batch", disable=None)
        )
        self.stdout.write(f"Embedded {count} candidates with {version.name}.")
