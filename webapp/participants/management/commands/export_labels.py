import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from webapp.participants import selectors


class Command(BaseCommand):
    help = "Write the label matrix (candidate × participant pseudonym; 1 = picked, 0 = shown and not picked) as CSV."

    def add_arguments(self, parser):
        parser.add_argument("--round", default="", help="Only this picking round (slug); default: all rounds.")
        parser.add_argument("-o", "--output", type=Path, help="CSV file to write (default: standard output).")

    def handle(self, *args, round, output, **options):
        picking_round = None
        if round:
            picking_round = selectors.picking_round_get(round)
            if picking_round is None:
                raise CommandError(f"No picking round {round!r}.", returncode=2)
        if output is None:
            rows = selectors.write_label_matrix_csv(sys.stdout, picking_round)
            self.stderr.write(f"{rows} candidates.")
            return
        try:
            with output.open("w", newline="") as handle:
                rows = selectors.write_label_matrix_csv(handle, picking_round)
        except OSError as error:
            raise CommandError(f"Cannot write {output}: {error.strerror}.", returncode=2) from None
        self.stdout.write(f"Wrote {rows} candidates to {output}.")
