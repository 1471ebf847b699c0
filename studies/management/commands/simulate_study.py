import json
import random
import secrets
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ml.styles.registry import TEST_USERS
from studies import selectors
from studies.simulation import SimulationError, SyntheticParticipant
from webapp.celery import app as celery_app


class Command(BaseCommand):
    help = (
        "Run synthetic participants through a study end to end (consent, picking, trials, completion code) "
        "through the real pages and APIs; each has the taste of an unseen test user of ml.styles. "
        "Needs Celery workers for the renderings (or --start-worker). Prints the tally."
    )

    def add_arguments(self, parser):
        parser.add_argument("study", help="The study's slug; it must be open.")
        parser.add_argument("--participants", type=int, default=10)
        parser.add_argument("--careless", type=float, default=0.0,
                            help="Fraction of participants who pick and vote at random (tests the checks).")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--timeout", type=float, default=900, help="Seconds to wait for one participant's trials.")
        parser.add_argument("--start-worker", action="store_true", help="Start a local worker for both queues.")
        parser.add_argument("--bootstrap", type=int, default=selectors.TALLY_BOOTSTRAP)
        parser.add_argument("--json", dest="json_path", help="Also write the tally as JSON here.")

    def handle(self, *args, study, participants, careless, seed, timeout, start_worker, bootstrap, json_path,
               **options):
        found = selectors.study_get(study)
        if found is None:
            raise CommandError(f"No study {study!r}.")
        if not found.is_open:
            raise CommandError(f"Study {study!r} is closed; open it on its results page first.")
        if participants < 1 or not 0 <= careless <= 1:
            raise CommandError("--participants must be ≥ 1 and --careless between 0 and 1.")
        if not {"testserver", "*"} & set(settings.ALLOWED_HOSTS):  # the synthetic browsers' host name
            settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        rng = random.Random(seed)
        tastes = list(TEST_USERS)
        rng.shuffle(tastes)
        worker = self._start_worker() if start_worker else None
        try:
            if worker is None and not celery_app.control.ping(timeout=2):
                raise CommandError("No Celery worker answers; start one or pass --start-worker.")
            people = [
                SyntheticParticipant(found, tastes[index % len(tastes)], random.Random(rng.random()),
                                     careless=index < round(careless * participants))
                for index in range(participants)
            ]
            started = time.monotonic()
            for person in people:  # everyone picks first, so the workers render while others pick
                person.join_and_pick(f"SIM{secrets.token_hex(6)}")
                careless_note = ", careless" if person.careless else ""
                self.stdout.write(f"{person.pseudonym} ({person.taste}{careless_note}) picked")
            for person in people:
                outcome = person.vote_all(timeout)
                self.stdout.write(f"{person.pseudonym} done: {'passed' if outcome['passed'] else 'failed the checks'}, "
                                  f"code {outcome['code'] or '-'}")
        except SimulationError as error:
            raise CommandError(str(error)) from None
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=30)
        found.refresh_from_db()
        tally = selectors.study_tally(found, bootstrap=bootstrap)
        self.stdout.write(f"\n{participants} synthetic participants in {time.monotonic() - started:.0f} s\n")
        self.stdout.write(format_tally(tally))
        if json_path:
            with open(json_path, "w") as handle:
                json.dump(tally, handle, indent=1)

    def _start_worker(self):
        self.stdout.write("Starting a local worker for queues gpu,cpu.")
        worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "webapp", "worker", "--queues", "gpu,cpu",
                                   "--pool", "solo", "--hostname", f"simulate-{secrets.token_hex(3)}@%h",
                                   "--loglevel", "WARNING"])
        deadline = time.monotonic() + 120
        while not celery_app.control.ping(timeout=1):
            if worker.poll() is not None or time.monotonic() > deadline:
                worker.terminate()
                raise CommandError("The local worker did not start.")
        return worker


def format_tally(tally: dict) -> str:
    """The tally as plain text: Table 2 with intervals, the tests and the exclusions."""
    progress = tally["progress"]
    lines = [f"Counted votes: {tally['votes']}  (completed {progress['completed']}, excluded for failed checks "
             f"{progress['excluded']['failed_checks']}, incomplete {progress['excluded']['incomplete']})"]
    models = tally.get("choice_models") or {}
    pl = models.get("plackett_luce")
    lines.append(f"{'method':<32}{'votes':>6}{'share':>8}   95% Wilson       PL P(best) [score, 95% bootstrap]")
    for index, method in enumerate(tally["methods"]):
        model = (f"{100 * pl['probability'][index]:5.1f}%  [{pl['score'][index]:+.2f}, {pl['low'][index]:+.2f}.."
                 f"{pl['high'][index]:+.2f}]") if pl else ""
        lines.append(f"{method['method'][:31]:<32}{method['votes']:>6}{100 * method['share']:>7.1f}%   "
                     f"[{100 * method['low']:4.1f}, {100 * method['high']:4.1f}]%   {model}")
    chi = tally["chi_square"]
    lines.append(f"Equal shares: chi2({chi['df']}) = {chi['statistic']:.2f}, p = {chi['p']:.3g}")
    bias = tally["position_bias"]
    lines.append(f"Position bias: votes by position {bias['counts']}, chi2({bias['df']}) = {bias['statistic']:.2f}, "
                 f"p = {bias['p']:.3g}")
    significant = [pair for pair in tally["pairwise"] if pair["p_holm"] < 0.05]
    lines.append("Pairwise (Holm, p < 0.05): " + ("; ".join(
        f"{pair['a']} {pair['votes_a']} vs {pair['b']} {pair['votes_b']} (p = {pair['p_holm']:.3g})"
        for pair in significant) or "none"))
    return "\n".join(lines) + "\n"
