from django.core.management.base import BaseCommand, CommandError

from webapp.core import selectors as core_selectors
from webapp.participants import selectors, services


class Command(BaseCommand):
    help = (
        "Queue preference-vector jobs (and their previews) for every finished participant who has no vector "
        "from the active model yet: people who took part before a model was active, or after a switch."
    )

    def add_arguments(self, parser):
        parser.add_argument("--round", default="", help="Only this picking round (slug).")

    def handle(self, *args, round, **options):
        version = core_selectors.active_model_version()
        if version is None:
            raise CommandError("No model is active; register one with `manage.py register_model PATH --activate`.",
                               returncode=2)
        picking_round = None
        if round:
            picking_round = selectors.picking_round_get(round)
            if picking_round is None:
                raise CommandError(f"No picking round {round!r}.", returncode=2)
        participants = list(selectors.finished_participants_without_vector(version, picking_round))
        for participant in participants:
            services.preference_request(participant=participant)
        self.stdout.write(f"Queued preference vectors for {len(participants)} participants with {version.name}.")
