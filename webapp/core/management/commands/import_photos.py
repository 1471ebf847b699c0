from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from webapp.core import services


class Command(BaseCommand):
    help = (
        "Import every photo of a directory into the photo pool, read in place (never copied): "
        "deduplicated by content hash, EXIF orientation applied, thumbnail and screen renditions "
        "made by the cpu workers. Uses DIR/manifest.csv (column 'file', optional 'collection') when present."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path, help="Photo directory.")

    def handle(self, *args, directory, **options):
        try:
            created, existing, problems = services.photo_import_directory(
                directory=directory, progress=lambda items: tqdm(items, desc="photos", unit="photo", disable=None)
            )
        except services.ServiceError as error:
            raise CommandError(str(error), returncode=2) from None
        for problem in problems:
            self.stderr.write(f"Skipped {problem}")
        self.stdout.write(f"Photos: {created} new, {existing} already there, {len(problems)} skipped.")
        if problems and not created and not existing:
            raise CommandError("No photo could be imported.", returncode=2)
