from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from webapp.core import services


class Command(BaseCommand):
    help = "Register a PieNet checkpoint in the model registry (validated, hashed), optionally activating it."

    def add_arguments(self, parser):
        parser.add_argument("checkpoint", type=Path, help="Checkpoint written by ml.checkpoint.save_checkpoint.")
        parser.add_argument("--name", default="", help="Version name (default: file stem + hash prefix).")
        parser.add_argument("--notes", default="", help="Free text: data, training run, caveats.")
        parser.add_argument("--activate", action="store_true", help="Make it the active model right away.")

    def handle(self, *args, checkpoint, name, notes, activate, **options):
        try:
            version, created = services.model_version_register(
                checkpoint_path=checkpoint, name=name, notes=notes, activate=activate
            )
        except services.ServiceError as error:
            raise CommandError(str(error), returncode=2) from None
        verb = "Registered" if created else "Already registered:"
        self.stdout.write(f"{verb} {version.name} ({version.status}), sha256 {version.sha256}")
        self.stdout.write(f"Styles: {', '.join(version.styles) or '(none)'}")
