from django.core.management.base import BaseCommand

from webapp.core import selectors


class Command(BaseCommand):
    help = "List registered model versions, newest first."

    def handle(self, *args, **options):
        versions = selectors.model_version_list()
        if not versions:
            self.stdout.write("No model versions registered.")
        for version in versions:
            self.stdout.write(f"{version.status:9} {version.name:32} {version.sha256[:16]}  {version.checkpoint_path}")
