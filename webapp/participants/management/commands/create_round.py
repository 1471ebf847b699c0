from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from webapp.participants import services
from webapp.participants.models import PickingRound

DEFAULT_CONSENT = (
    "This study is about which retouched photos people prefer. You will see sets of photos and pick the "
    "ones you like; it takes about five minutes.\n\nWe record your picks and the time of each, under a random "
    "participant code. We keep no name or e-mail. You can stop at any time by closing the page."
)


class Command(BaseCommand):
    help = "Create a picking round (the consent text, pick range, set size and scheme participants get)."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="URL name: the round is at /take-part/SLUG/.")
        parser.add_argument("--title", default="Which photos do you like?")
        parser.add_argument("--consent-file", type=Path, help="Plain-text consent (default: a short generic text).")
        parser.add_argument("--min-picks", type=int, default=10)
        parser.add_argument("--max-picks", type=int, default=20)
        parser.add_argument("--set-size", type=int, default=8)
        parser.add_argument("--scheme", default=PickingRound.Scheme.MEAN, choices=PickingRound.Scheme.values)
        parser.add_argument("--preview-count", type=int, default=3)
        parser.add_argument("--completion-url", default="")

    def handle(self, *args, slug, title, consent_file, min_picks, max_picks, set_size, scheme, preview_count,
               completion_url, **options):
        try:
            consent = consent_file.read_text() if consent_file else DEFAULT_CONSENT
        except OSError as error:
            raise CommandError(f"Cannot read {consent_file}: {error.strerror}.", returncode=2) from None
        try:
            picking_round = services.picking_round_create(
                slug=slug, title=title, consent_text=consent, min_picks=min_picks, max_picks=max_picks,
                set_size=set_size, scheme=scheme, preview_count=max(1, preview_count), completion_url=completion_url,
            )
        except services.ServiceError as error:
            raise CommandError(str(error), returncode=2) from None
        self.stdout.write(f"Created {picking_round.slug}: /take-part/{picking_round.slug}/")
