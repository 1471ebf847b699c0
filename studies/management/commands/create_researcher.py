"""`manage.py create_researcher NAME`: a login for the study pages (`/studies/`) and their admin pages."""

import getpass
import os

from django.core.management.base import BaseCommand, CommandError

from studies import services
from webapp.core.errors import ServiceError


class Command(BaseCommand):
    help = (
        "Create a researcher's login (or make an existing user a researcher): staff, in the Researchers group. "
        "Asks for the password, or reads it from the environment variable named by --password-env."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--password-env",
            metavar="VARIABLE",
            help="Read the password from this environment variable instead of asking.",
        )

    def handle(self, *args, username, email, password_env, **options):
        if password_env:
            password = os.environ.get(password_env, "")
            if not password:
                raise CommandError(f"The environment variable {password_env} is empty or unset.", returncode=2)
        else:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The two passwords differ.", returncode=2)
        try:
            user = services.researcher_create(username=username, password=password, email=email)
        except ServiceError as error:
            raise CommandError(str(error), returncode=2) from None
        self.stdout.write(f"Researcher {user.username} can sign in at /studies/login/ (and the admin at /admin/).")
