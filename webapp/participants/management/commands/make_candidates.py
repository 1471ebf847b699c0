from django.core.management.base import BaseCommand, CommandError

from webapp.core.models import Photo
from webapp.participants import services
from webapp.participants.demo import DEMO_STYLES
from webapp.participants.job_progress import follow_job


class Command(BaseCommand):
    help = (
        "Render candidates (photos × styles) for the picking page on the workers: the retouching users "
        "of ml.styles on the cpu queue, then PieNet with the active model's training users on the gpu "
        "queue, and store each candidate's embedding. Already rendered pairs are skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--photos", type=int, default=0, help="Only the N most recent photos (default: all).")
        parser.add_argument("--collection", default="", help="Only photos of this collection.")
        parser.add_argument(
            "--styles", default="all",
            help="Retouching users: 'all', 'train', 'test', 'demo' (8 quick ones), 'none' or comma-separated names.",
        )
        parser.add_argument("--no-pienet", action="store_true", help="Skip the PieNet renderings.")
        parser.add_argument("--wait", action="store_true", help="Show the job's progress until it ends.")

    def handle(self, *args, photos, collection, styles, no_pienet, wait, **options):
        from ml.styles.registry import STYLES, TEST_USERS, TRAIN_USERS

        named = {"all": list(STYLES), "train": list(TRAIN_USERS), "test": list(TEST_USERS), "demo": DEMO_STYLES,
                 "none": []}
        chosen = named.get(styles, [name.strip() for name in styles.split(",") if name.strip()])
        queryset = Photo.objects.all()
        if collection:
            queryset = queryset.filter(collection=collection)
        if photos < 0:
            raise CommandError("--photos must be 0 (all) or more.", returncode=2)
        selected = list(queryset[:photos] if photos else queryset)
        try:
            job = services.candidates_request(photos=selected, retouch_styles=chosen, pienet=not no_pienet)
        except services.ServiceError as error:
            raise CommandError(str(error), returncode=2) from None
        self.stdout.write(
            f"Queued job {job.pk}: {len(selected)} photos × {len(chosen)} retouching styles"
            f" + {len(job.params['pienet_styles'])} PieNet styles."
        )
        if wait:
            follow_job(job, self.stdout)
