from django.core.management.base import BaseCommand, CommandError

from webapp.core import selectors, services


class Command(BaseCommand):
    help = "Switch the active model to a registered version (atomically); workers pick it up with the next job."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Name of a registered model version (see `manage.py list_models`).")

    def handle(self, *args, name, **options):
        version = selectors.model_version_list().filter(name=name).first()
        if version is None:
            known = ", ".join(selectors.model_version_list().values_list("name", flat=True)) or "none registered"
            raise CommandError(f"No model version named {name!r} (known: {known}).", returncode=2)
        version = services.model_version_activate(version=version)
        self.stdout.write(f"{version.name} is now the active model.")
