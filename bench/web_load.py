"""Web load: concurrent participants over real HTTP against gunicorn + PostgreSQL + Redis; one JSON object.

The production-like stack of the hardening probe (DEBUG=0, gunicorn, PostgreSQL, Redis cache and
sessions' throttles): a fresh database is migrated and seeded in this process through the services
(a tiny random-weight model, a picking pool, a study whose participants have picked and whose trial
images are rendered, the worker stages called in-process), then gunicorn serves it and N client
threads, each with its own session cookie and CSRF token, run for a fixed time:

* pickers join the picking round and go through sets: the picking page, the current set, a PUT per pick,
  the set's submit; a finished picker joins again as a new participant;
* voters (the study's prepared participants) load the voting page and vote until their trials run out.

Afterwards the rows are counted: every pick and vote answered 200 must be stored exactly once, and none
more. Reports requests/s and p50/p95/p99 latency per endpoint, errors, and the row check.

Every client comes from 127.0.0.1, so the per-address participant and anonymous rates are lifted for the
run (real participants have their own addresses).

Usage: python bench/web_load.py [--participants 50] [--seconds 30] [--trials 120] [--workers 3]
                                [--worker-class sync] [--threads 1] [--database pienet_bench] [--out FILE]
"""
import argparse
import http.client
import json
import os
import sys
import tempfile
import threading
import time
from collections import defaultdict
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from tests.webapp.helpers import free_port, running_process, wait_for  # noqa: E402  (after the path)

ADMIN_DATABASE = "postgres://postgres@127.0.0.1:5432/postgres"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=50, help="Concurrent clients (half pick, half vote).")
    parser.add_argument("--seconds", type=float, default=30, help="How long the clients run.")
    parser.add_argument("--trials", type=int, default=120,
                        help="Trials each voter can vote on (enough that no voter runs out within --seconds).")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes.")
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class (sync, gthread).")
    parser.add_argument("--threads", type=int, default=1, help="Threads per gunicorn worker (gthread).")
    parser.add_argument("--database", default="pienet_bench", help="PostgreSQL database to (re)create.")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12", help="Redis for cache and broker.")
    parser.add_argument("--out", type=Path, help="Also write the JSON here.")
    args = parser.parse_args()
    if args.participants < 2 or args.seconds <= 0 or args.trials < 1 or args.workers < 1:
        parser.error("--participants must be at least 2, --seconds positive, --trials and --workers at least 1")
    return args


def recreate_database(name: str) -> str:
    import psycopg

    with psycopg.connect(ADMIN_DATABASE, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return ADMIN_DATABASE.rsplit("/", 1)[0] + f"/{name}"


def configure_environment(args, state_dir: Path, database_url: str) -> dict:
    """One environment for this process (seeding) and gunicorn (serving)."""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="webapp.settings", DEBUG="0", SECRET_KEY="web-load-bench-" * 4,
               ALLOWED_HOSTS="127.0.0.1,testserver", DATABASE_URL=database_url, REDIS_URL=args.redis,
               CELERY_BROKER_URL=args.redis, PIENET_VAR_DIR=str(state_dir), SESSION_COOKIE_SECURE="0",
               CSRF_COOKIE_SECURE="0", SECURE_SSL_REDIRECT="0", PIENET_PARTICIPANT_RATE="100000000/hour",
               API_ANON_RATE="100000000/hour", LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1", PYTHONPATH=str(PROJECT_ROOT))
    os.environ.clear()
    os.environ.update(env)
    return env


def seed(args, state_dir: Path, voters: int):
    """Migrate, collect static files, and build the model, the study and its prepared voters."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    import redis
    from tqdm import tqdm

    redis.Redis.from_url(args.redis).flushdb()
    from tests.studies.helpers import join, make_study, picked_and_ready
    from tests.webapp.helpers import write_checkpoint
    from webapp.core import services as core_services

    checkpoint = write_checkpoint(state_dir / "tiny.pt", seed=1)
    version, _ = core_services.model_version_register(checkpoint_path=checkpoint, name="tiny", activate=True)
    study = make_study(version, voting_count=args.trials + 1, trials_per_participant=args.trials,
                       participant_quota=1_000_000, min_picks=4, max_picks=6)
    sessions = []
    for _ in tqdm(range(voters), desc="preparing voters", unit="voter", file=sys.stderr):
        client = join(study.slug)
        picked_and_ready(client, study)
        sessions.append(client.cookies["sessionid"].value)
    return study.slug, study.picking_round.slug, sessions


class Recorder:
    """Latency per endpoint and every recorded outcome, shared by the client threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = defaultdict(list)
        self.errors = defaultdict(int)
        self.picks_answered = set()
        self.votes_answered = set()
        self.voters_out_of_trials = 0

    def record(self, endpoint: str, seconds: float, status: int, expected=(200,)) -> None:
        with self.lock:
            self.latencies[endpoint].append(seconds)
            if status not in expected:
                self.errors[f"{endpoint} {status}"] += 1


class Session:
    """One browser: its cookies and CSRF token, a fresh connection per request (sync gunicorn closes them)."""

    def __init__(self, port: int, recorder: Recorder, sessionid: str | None = None):
        self.port, self.recorder = port, recorder
        self.cookies = {"sessionid": sessionid} if sessionid else {}

    def request(self, endpoint: str, method: str, path: str, body=None, expected=(200,), form: dict | None = None):
        """One request; `body` goes as JSON, `form` as a posted form carrying the CSRF token."""
        headers = {"Cookie": "; ".join(f"{key}={value}" for key, value in self.cookies.items()),
                   "Host": f"127.0.0.1:{self.port}"}
        if method != "GET":
            headers.update({"X-CSRFToken": self.cookies.get("csrftoken", ""), "Referer": f"http://127.0.0.1:{self.port}/",
                            "Content-Type": "application/x-www-form-urlencoded" if form else "application/json"})
        if form:
            payload = urlencode({**form, "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")}).encode()
        else:
            payload = json.dumps(body).encode() if body is not None else b""
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            data = response.read()
            status = response.status
            for header in response.headers.get_all("Set-Cookie") or []:
                for key, morsel in SimpleCookie(header).items():
                    self.cookies[key] = morsel.value
        except OSError:
            data, status = b"", 0
        finally:
            connection.close()
        self.recorder.record(endpoint, time.perf_counter() - started, status, expected)
        return status, data


def picker(port: int, study_slug: str, round_slug: str, recorder: Recorder, deadline: float) -> None:
    """Join the study, then work through its picking sets (page, set, two picks, submit) until the round
    has its most picks; then join again as a new participant."""
    while time.perf_counter() < deadline:
        session = Session(port, recorder)
        session.request("consent page", "GET", f"/study/{study_slug}/")
        status, _ = session.request("join", "POST", f"/study/{study_slug}/", expected=(302,), form={"consent": "yes"})
        if status != 302:
            break
        while time.perf_counter() < deadline:
            session.request("picking page", "GET", f"/study/{study_slug}/pick/")
            status, data = session.request("current set", "POST", f"/api/rounds/{round_slug}/sets/current/")
            current = json.loads(data).get("current_set") if status == 200 else None
            if not current:
                break
            for item in current["items"][:2]:
                status, _ = session.request("pick PUT", "PUT", f"/api/rounds/{round_slug}/items/{item['token']}/",
                                            {"liked": True}, (200, 409))
                if status == 200:
                    with recorder.lock:
                        recorder.picks_answered.add(item["token"])
            status, _ = session.request("set submit", "POST",
                                        f"/api/rounds/{round_slug}/sets/{current['number']}/submit/", None, (200, 409))
            if status != 200:
                break


def voter(port: int, study_slug: str, sessionid: str, recorder: Recorder, deadline: float) -> None:
    """Load the voting page, then vote for the first option of each trial until done or out of time."""
    session = Session(port, recorder, sessionid)
    session.request("voting page", "GET", f"/study/{study_slug}/vote/")
    status, data = session.request("current trial", "POST", f"/api/studies/{study_slug}/current/")
    state = json.loads(data) if status == 200 else {}
    while state.get("stage") == "voting" and time.perf_counter() < deadline:
        trial = state["trial"]
        status, data = session.request("vote POST", "POST", f"/api/studies/{study_slug}/trials/{trial['token']}/vote/",
                                       {"option": trial["options"][0]["token"], "response_ms": 900})
        if status != 200:
            break
        with recorder.lock:
            recorder.votes_answered.add(trial["token"])
        state = json.loads(data)
    if state.get("stage") == "done":
        with recorder.lock:
            recorder.voters_out_of_trials += 1


def gunicorn_command(args, port: int) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "webapp.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(args.workers),
            "-k", args.worker_class, "--threads", str(args.threads), "--log-level", "warning"]


def answers_health(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", "/healthz")
        return connection.getresponse().status in (200, 503)
    except OSError:
        return False


def stored_rows(picks_answered: set, votes_answered: set) -> dict:
    from studies.models import Vote
    from webapp.participants.models import SetItem

    stored_picks = set(SetItem.objects.filter(liked=True, token__in=picks_answered).values_list("token", flat=True))
    votes = list(Vote.objects.filter(trial__token__in=votes_answered).values_list("trial__token", flat=True))
    return {"picks_answered": len(picks_answered), "picks_lost": len(picks_answered - stored_picks),
            "votes_answered": len(votes_answered), "votes_stored": len(votes),
            "votes_lost": len(votes_answered - set(votes)), "votes_duplicated": len(votes) - len(set(votes))}


def main() -> None:
    args = parse_args()
    voters = args.participants // 2
    with tempfile.TemporaryDirectory(prefix="web-load-") as state:
        env = configure_environment(args, Path(state), recreate_database(args.database))
        started = time.perf_counter()
        study_slug, round_slug, sessions = seed(args, Path(state), voters)
        seeding_seconds = time.perf_counter() - started
        recorder = Recorder()
        port = free_port()
        log_path = Path(state) / "gunicorn.log"
        with running_process(gunicorn_command(args, port), env, log_path):
            wait_for(lambda: answers_health(port), 20, "gunicorn", log_path)
            deadline = time.perf_counter() + args.seconds
            threads = [threading.Thread(target=voter, args=(port, study_slug, sessionid, recorder, deadline))
                       for sessionid in sessions]
            threads += [threading.Thread(target=picker, args=(port, study_slug, round_slug, recorder, deadline))
                        for _ in range(args.participants - voters)]
            load_started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - load_started
        endpoints = {
            name: {"requests": len(values), "per_second": round(len(values) / elapsed, 1),
                   **{f"p{share}_ms": round(1000 * float(np.percentile(values, share)), 1) for share in (50, 95, 99)}}
            for name, values in sorted(recorder.latencies.items())
        }
        result = {
            "participants": args.participants, "voters": voters, "pickers": args.participants - voters,
            "seconds": round(elapsed, 1), "seeding_seconds": round(seeding_seconds, 1),
            "gunicorn": {"workers": args.workers, "worker_class": args.worker_class, "threads": args.threads},
            "endpoints": endpoints, "errors": dict(recorder.errors),
            # voters idle once their trials run out, and then the vote rate measures the seeding, not the site
            "voters_out_of_trials": recorder.voters_out_of_trials,
            "rows": stored_rows(recorder.picks_answered, recorder.votes_answered),
        }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
