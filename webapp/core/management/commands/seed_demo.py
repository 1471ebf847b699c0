from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from webapp.core import selectors, services
from webapp.core.demo_photos import demo_photo_sources
from webapp.core.signals import demo_seeded

# The study form's default picking pool (40) and voting photos (16), with some to spare.
STUDY_PHOTOS = 48


class Command(BaseCommand):
    help = (
        "Seed the demo: import showcase photos (read in place, thumbnails queued), further photos for a first "
        "study, and register the configured checkpoint as the active model when none is active. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--photos-dir", default=settings.PIENET_PHOTOS_DIR, help="Photo directory to import from.")
        parser.add_argument("--count", type=int, default=12, help="How many demo photos to import.")
        parser.add_argument(
            "--study-photos", type=int, default=STUDY_PHOTOS,
            help="Further photos for studies: enough for the study form's default picking pool and voting photos.",
        )
        parser.add_argument("--checkpoint", default=settings.PIENET_CHECKPOINT, help="Checkpoint for the demo model.")

    def handle(self, *args, photos_dir, count, study_photos, checkpoint, **options):
        if count < 1 or study_photos < 0:
            raise CommandError("--count must be at least 1 and --study-photos at least 0.", returncode=2)
        if photos_dir and not Path(photos_dir).is_dir():
            raise CommandError(f"--photos-dir {photos_dir} is not a directory.", returncode=2)
        sources = demo_photo_sources(photos_dir, count + study_photos)
        created = 0
        photos = []
        for index, (path, collection) in enumerate(tqdm(sources, desc="demo photos", unit="photo", disable=None)):
            try:
                photo, is_new = services.photo_import_file(path=path, collection=collection, is_demo=index < count)
            except services.ServiceError as error:
                self.stderr.write(f"Skipped {path}: {error}")
                continue
            created += is_new
            if index < count:
                photos.append(photo)
        origin = photos_dir or "scikit-image samples"
        self.stdout.write(
            f"Photos: {created} new, {len(sources) - created} already there (from {origin}); "
            f"the first {min(count, len(sources))} are the demo's samples, the others for studies."
        )
        self._seed_model(Path(checkpoint))
        demo_seeded.send(sender=self.__class__, photos=photos, stdout=self.stdout)

    def _seed_model(self, checkpoint: Path) -> None:
        active = selectors.active_model_version()
        if active is not None:
            self.stdout.write(f"Active model: {active.name}.")
            return
        if not checkpoint.is_file():
            self.stdout.write(
                f"No checkpoint at {checkpoint}: the site runs without an active model until one is "
                "registered (`manage.py register_model PATH --activate`, or set PIENET_CHECKPOINT)."
            )
            return
        try:
            version, _ = services.model_version_register(checkpoint_path=checkpoint, activate=True)
        except services.ServiceError as error:
            raise CommandError(str(error), returncode=2) from None
        self.stdout.write(f"Active model: {version.name} (styles: {', '.join(version.styles)}).")
