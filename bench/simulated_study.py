"""The paper-style user study (Sec. 4.3, Table 2) with synthetic participants against one checkpoint; prints JSON.

Fully automatic and throw-away: a fresh embedded installation in a temporary folder (SQLite database,
kombu filesystem broker, media), migrated; photos of the TEST split of the ML dataset (scenes from the
photo folder's manifest.csv, `ml.data.photos.split_for_scene(scene, 0) == "test"`) imported in place
through the core services, so the study never shows a photo the model trained on, with picking-pool
and voting photos from disjoint scenes; the checkpoint registered and activated with `register_model`;
a study configured through the configuration serializer and `studies.services.study_configure`
(PieNet personal, PieNet mean vector, retouch auto_levels, clahe, vivid, photographer_punchy_natural),
its picking pool rendered in every training style of the checkpoint by the workers
(`study_prepare_pool`), opened; then `manage.py simulate_study --start-worker` runs the synthetic
participants through the real pages and APIs, and the tally it writes (studies.statistics via
selectors.study_tally) is summarized: votes and share per method, Holm-corrected pairwise p of
PieNet (personal) against each other method, position bias, exclusions, wall time.

Usage: python bench/simulated_study.py [--checkpoint checkpoints/pienet.pt] [--photos ../shared/data/photos]
           [--participants 20] [--trials 10] [--seed 0] [--pool-photos 24] [--voting-photos N]
           [--careless 0] [--threads 0] [--out FILE] [--report DIR] [--keep]
Progress goes to stderr, the JSON object to stdout (and to --out). Exit 2: bad arguments or inputs.
"""
import argparse
import contextlib
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

METHODS = [
    {"kind": "pienet_personal", "style": "", "label": ""},
    {"kind": "pienet_mean", "style": "", "label": ""},
    {"kind": "retouch", "style": "auto_levels", "label": ""},
    {"kind": "retouch", "style": "clahe", "label": ""},
    {"kind": "retouch", "style": "vivid", "label": ""},
    {"kind": "retouch", "style": "photographer_punchy_natural", "label": ""},
]
ATTENTION_CHECKS = 2
MIN_PICKS, MAX_PICKS = 10, 20
SLUG = "simulated-study"


class Failure(Exception):
    """Something the run cannot go on from; `code` is the exit status (2: the inputs, 1: the platform)."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def progress(message: str) -> None:
    print(f"[simulated_study {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=PROJECT_ROOT / "checkpoints" / "pienet.pt")
    parser.add_argument("--photos", type=Path, default=PROJECT_ROOT.parent / "shared" / "data" / "photos",
                        help="Photo folder with manifest.csv (file, collection, scene); read in place.")
    parser.add_argument("--participants", type=int, default=20)
    parser.add_argument("--trials", type=int, default=10, help="Counted trials per participant (plus 2 checks).")
    parser.add_argument("--seed", type=int, default=0, help="Photo selection, study orders and participants.")
    parser.add_argument("--pool-photos", type=int, default=24, help="Test-split photos of the picking pool.")
    parser.add_argument("--voting-photos", type=int, default=0,
                        help="Test-split photos trials are drawn from (default: trials + checks + 4).")
    parser.add_argument("--set-size", type=int, default=8, help="Images per picking set.")
    parser.add_argument("--careless", type=float, default=0.0, help="Fraction of careless participants.")
    parser.add_argument("--threads", type=int, default=0,
                        help="Torch threads of the workers (OMP_NUM_THREADS); 0: as the environment says.")
    parser.add_argument("--timeout", type=float, default=3600, help="Seconds to wait for the preparation jobs.")
    parser.add_argument("--out", type=Path, help="Also write the JSON here.")
    parser.add_argument("--report", type=Path,
                        help="Folder of an experiments report (`python -m ml experiments --out`) of the same "
                             "checkpoint: the tally goes into its metrics.json and report.md.")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary installation (path on stderr).")
    args = parser.parse_args()
    if args.participants < 1 or args.trials < 1 or args.pool_photos < 2 or args.set_size < 2:
        parser.error("--participants and --trials must be at least 1, --pool-photos and --set-size at least 2")
    if not 0 <= args.careless <= 1 or args.threads < 0:
        parser.error("--careless must be between 0 and 1 and --threads at least 0")
    args.voting_photos = args.voting_photos or args.trials + ATTENTION_CHECKS + 4
    if args.voting_photos < args.trials + ATTENTION_CHECKS:
        parser.error(f"--voting-photos must be at least trials + {ATTENTION_CHECKS} attention checks")
    for name in ("checkpoint", "photos", "out"):  # before the chdir to the project root
        if getattr(args, name) is not None:
            setattr(args, name, getattr(args, name).expanduser().resolve())
    return args


def check_inputs(args) -> None:
    if not args.checkpoint.is_file():
        raise Failure(f"No checkpoint at {args.checkpoint}; pass --checkpoint PATH to a trained PieNet checkpoint.", 2)
    if not args.photos.is_dir():
        raise Failure(f"The photo folder {args.photos} does not exist; pass --photos DIR (with manifest.csv).", 2)
    if not (args.photos / "manifest.csv").is_file():
        raise Failure(f"{args.photos} has no manifest.csv, so the scenes (and the test split) are unknown.", 2)
    if args.report is not None and not (args.report / "metrics.json").is_file():
        raise Failure(f"{args.report} holds no metrics.json; pass the --out folder of `python -m ml experiments`.", 2)


def configure_environment(args, state_dir: Path) -> None:
    """Embedded mode in `state_dir`, for this process and the workers it starts (set before django.setup)."""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="webapp.settings", DEBUG="1", PIENET_VAR_DIR=str(state_dir),
               DATABASE_URL=f"sqlite:///{state_dir / 'pienet.sqlite3'}", LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")])))
    for key in ("REDIS_URL", "CELERY_BROKER_URL", "CELERY_BROKER_TRANSPORT_OPTIONS", "MEDIA_ROOT",
                "MEDIA_STORAGE_BACKEND", "MEDIA_STORAGE_OPTIONS"):
        env.pop(key, None)
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    os.environ.clear()
    os.environ.update(env)


# --- Photos -------------------------------------------------------------------------------------


def test_split_rows(photos_dir: Path) -> list[dict]:
    from ml.data.photos import split_for_scene

    with (photos_dir / "manifest.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or not {"file", "scene"} <= set(rows[0]):
        raise Failure(f"{photos_dir / 'manifest.csv'} needs the columns 'file' and 'scene'.", 2)
    return [row for row in rows if split_for_scene(row["scene"], 0) == "test" and (photos_dir / row["file"]).is_file()]


def choose_photos(rows: list[dict], pool_count: int, voting_count: int, seed: int) -> tuple[list[dict], list[dict]]:
    """Pool and voting photos from disjoint scenes, spread over as many scenes as there are (round robin)."""
    by_scene: dict[str, list[dict]] = {}
    for row in sorted(rows, key=lambda row: row["file"]):
        by_scene.setdefault(row["scene"], []).append(row)
    rng = random.Random(f"simulated-study:{seed}")
    scenes = sorted(by_scene)
    rng.shuffle(scenes)
    for scene in scenes:
        rng.shuffle(by_scene[scene])
    if len(scenes) < 2:
        raise Failure(f"The test split has {len(scenes)} scene(s); pool and voting photos need disjoint scenes.", 2)
    if pool_count + voting_count <= len(scenes):
        voting_scenes = scenes[:voting_count]
        pool_scenes = scenes[voting_count:voting_count + pool_count]
    else:  # fewer scenes than photos: share the scenes out in proportion, then several photos per scene
        split = min(len(scenes) - 1, max(1, round(len(scenes) * voting_count / (pool_count + voting_count))))
        voting_scenes, pool_scenes = scenes[:split], scenes[split:]

    def take(group: list[str], count: int, what: str) -> list[dict]:
        queues = [list(by_scene[scene]) for scene in group]
        chosen = []
        while len(chosen) < count and any(queues):
            for queue in queues:
                if queue and len(chosen) < count:
                    chosen.append(queue.pop())
        if len(chosen) < count:
            raise Failure(f"The test split has only {len(chosen)} photos for the {what} in its {len(group)} "
                          f"scenes, {count} asked for; ask for fewer.", 2)
        return chosen

    return take(pool_scenes, pool_count, "picking pool"), take(voting_scenes, voting_count, "voting photos")


def import_photos(photos_dir: Path, rows: list[dict]) -> list:
    """Reference the photos in place (core services: hashed, deduplicated, renditions queued)."""
    from webapp.core import services

    photos = []
    for row in rows:
        try:
            photo, _ = services.photo_import_file(path=photos_dir / row["file"], collection=row.get("collection", ""))
        except (services.ServiceError, OSError) as error:
            raise Failure(f"Could not import {photos_dir / row['file']}: {error}") from None
        photos.append(photo)
    return photos


# --- Workers and jobs ---------------------------------------------------------------------------


def start_worker(log_path: Path, timeout: float) -> subprocess.Popen:
    from webapp.celery import app as celery_app

    log = log_path.open("ab")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "webapp", "worker", "--queues", "gpu,cpu", "--pool", "solo",
         "--hostname", f"simulated-study-{os.getpid()}@%h", "--loglevel", "WARNING"],
        cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + timeout
    while not celery_app.control.ping(timeout=1):
        if worker.poll() is not None or time.monotonic() > deadline:
            stop_worker(worker)
            raise Failure(f"The preparation worker did not start within {timeout:.0f} s; its log: {log_path}\n"
                          f"{tail(log_path)}")
    return worker


def stop_worker(worker: subprocess.Popen | None) -> None:
    if worker is None or worker.poll() is not None:
        return
    worker.terminate()
    try:
        worker.wait(timeout=60)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def stop_child(command: list[str], timeout: float = 120) -> None:
    """End the child process of this one that runs `command` (simulate_study's worker, whose Popen we lack)."""
    import signal

    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            arguments = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
        except (OSError, IndexError, ValueError):
            continue
        if ppid != os.getpid() or arguments != [str(part) for part in command]:
            continue
        pid = int(entry.name)
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while os.waitpid(pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                break
            time.sleep(0.5)


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_for(condition, what: str, worker, log_path: Path, timeout: float, describe=None) -> None:
    deadline, last = time.monotonic() + timeout, None
    while not condition():
        if worker.poll() is not None:
            raise Failure(f"The worker stopped while {what}; its log:\n{tail(log_path)}")
        if time.monotonic() > deadline:
            raise Failure(f"Gave up after {timeout:.0f} s {what}.")
        note = describe() if describe else None
        if note and note != last:
            progress(f"  {what}: {note}")
            last = note
        time.sleep(1)


def wait_for_job(job_id, what: str, worker, log_path: Path, timeout: float):
    from webapp.core.models import Job

    def done():
        return Job.objects.get(pk=job_id).status in (Job.Status.SUCCEEDED, Job.Status.FAILED)

    def describe():
        return f"{Job.objects.get(pk=job_id).progress // 10 * 10}%"

    wait_for(done, what, worker, log_path, timeout, describe)
    job = Job.objects.get(pk=job_id)
    if job.status == Job.Status.FAILED:
        raise Failure(f"The job {what} failed: {job.error}")
    return job


@contextlib.contextmanager
def stdout_to_stderr():
    """While simulate_study runs: its lines and its worker's (inherited file descriptor 1) go to stderr,
    so stdout carries nothing but the JSON."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


# --- The study ----------------------------------------------------------------------------------


def study_config(args, version, pool, voting, pool_styles: list[str]) -> dict:
    """The study in the export format (as `POST /api/studies/` imports it)."""
    return {
        "slug": SLUG,
        "title": "Which version of the photo do you like best?",
        "consent_text": "A simulated study: synthetic participants, no personal data.",
        "instructions": "Choose the version you like best. Some photos check attention: one version is broken.",
        "min_picks": MIN_PICKS, "max_picks": MAX_PICKS, "set_size": args.set_size, "scheme": "mean",
        "pool_styles": pool_styles,
        "pool_photos": [photo.content_hash for photo in pool],
        "voting_photos": [photo.content_hash for photo in voting],
        "model": {"name": version.name, "sha256": version.sha256},
        "methods": METHODS,
        "trials_per_participant": args.trials, "attention_checks": ATTENTION_CHECKS, "max_failed_checks": 0,
        "participant_quota": args.participants,
        "completion_code": "SIM-DONE", "completion_url": "", "failed_code": "SIM-FAILED", "failed_url": "",
        "seed": args.seed,
    }


def summarize(args, tally: dict, methods: list[dict], version, counts: dict, pool_styles: list[str], phases: dict,
              wall: float) -> dict:
    """The tally (studies.statistics via selectors.study_tally, nothing recomputed) for a report.
    `methods`: the study's methods in order, as {"label", "kind", "style"}."""
    personal = next(m["label"] for m in methods if m["kind"] == "pienet_personal")
    holm = {}
    for pair in tally["pairwise"]:
        if personal in (pair["a"], pair["b"]):
            holm[pair["b"] if pair["a"] == personal else pair["a"]] = pair["p_holm"]
    by_label = {row["method"]: row for row in tally["methods"]}
    rows = []
    for method in methods:
        row = by_label[method["label"]]
        rows.append({
            "label": method["label"], "kind": method["kind"], "style": method["style"], "votes": row["votes"],
            "share": round(row["share"], 4), "wilson95": [round(row["low"], 4), round(row["high"], 4)],
            "holm_p": None if method["label"] == personal else holm[method["label"]],
        })
    others = [row for row in rows if row["label"] != personal]
    personal_votes = by_label[personal]["votes"]
    progress_counts = tally["progress"]
    completed = progress_counts["completed"]
    return {
        "benchmark": "simulated_study",
        "description": (
            f"Simulated user study (paper Sec. 4.3, Table 2): {args.participants} synthetic participants, each "
            f"with the taste of an unseen ml.styles test user, picked {MIN_PICKS}-{MAX_PICKS} images from "
            f"{counts['pool']} test-split photos rendered in {len(pool_styles)} training styles, then chose the "
            f"closest (CIELAB) of {len(methods)} methods in {args.trials} counted trials (+{ATTENTION_CHECKS} "
            f"attention checks) on {counts['voting']} other test-split photos; checkpoint {version.name}."
        ),
        "checkpoint": {"path": str(args.checkpoint), "sha256": version.sha256, "model_version": version.name,
                       "styles": len(version.styles)},
        "participants": args.participants,
        "participants_completed": completed,
        "careless_fraction": args.careless,
        "trials_per_participant": args.trials,
        "attention_checks": ATTENTION_CHECKS,
        "picks": {"min": MIN_PICKS, "max": MAX_PICKS, "set_size": args.set_size},
        "photos": counts,
        "pool_styles": pool_styles,
        "votes": tally["votes"],
        "methods": rows,
        "votes_by_method": {row["label"]: row["votes"] for row in rows},
        "share_by_method": {row["label"]: row["share"] for row in rows},
        "pienet_personal_vs": {label: {"votes": by_label[label]["votes"], "holm_p": p} for label, p in holm.items()},
        "pienet_personal_most_votes": all(personal_votes > row["votes"] for row in others),
        "pienet_personal_all_holm_significant": all(row["holm_p"] < 0.05 for row in others),
        "chi_square_equal_shares_p": tally["chi_square"]["p"],
        "position_bias": {"counts": tally["position_bias"]["counts"], "p": tally["position_bias"]["p"]},
        "exclusions": {**progress_counts["excluded"], "started": progress_counts["started"]},
        "seed": args.seed,
        "phase_seconds": {name: round(seconds, 1) for name, seconds in phases.items()},
        "wall_seconds": round(wall, 1),
    }


class Phases:
    """Seconds per phase, with a progress line on stderr as each starts."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.started = time.monotonic()

    @contextlib.contextmanager
    def __call__(self, name: str, message: str):
        progress(message)
        since = time.monotonic()
        try:
            yield
        finally:
            self.seconds[name] = time.monotonic() - since


def run(args, state_dir: Path) -> dict:
    phase = Phases()
    with phase("install", f"1/6 fresh embedded installation in {state_dir} (SQLite, filesystem broker); migrating"):
        configure_environment(args, state_dir)
        os.chdir(PROJECT_ROOT)  # the workers are started with `-A webapp` from here
        import django

        django.setup()
        from django.core.management import call_command
        from django.core.management.base import CommandError

        call_command("migrate", verbosity=0)

    rows = test_split_rows(args.photos)
    pool_rows, voting_rows = choose_photos(rows, args.pool_photos, args.voting_photos, args.seed)
    with phase("import", f"2/6 importing {len(pool_rows)} pool + {len(voting_rows)} voting photos of the test split "
                         f"({len(rows)} photos in {len({row['scene'] for row in rows})} test scenes) from {args.photos}"):
        pool, voting = import_photos(args.photos, pool_rows), import_photos(args.photos, voting_rows)
        if {photo.pk for photo in pool} & {photo.pk for photo in voting}:
            raise Failure("A pool photo and a voting photo have the same content; the photo folder has duplicates.")

    with phase("register", f"3/6 registering and activating {args.checkpoint}"):
        from ml.checkpoint import file_sha256
        from webapp.core.models import ModelVersion

        try:
            call_command("register_model", str(args.checkpoint), "--activate", stdout=sys.stderr)
        except CommandError as error:
            raise Failure(f"The checkpoint could not be registered: {error}", 2) from None
        version = ModelVersion.objects.get(sha256=file_sha256(args.checkpoint))

    from ml.styles.registry import STYLES
    from studies import services
    from studies.serializers import StudyConfigSerializer
    from webapp.core.models import Photo
    from webapp.core.errors import ServiceError
    from webapp.participants.models import Candidate

    pool_styles = [name for name in version.styles if name in STYLES]
    if not pool_styles:
        raise Failure(f"None of the checkpoint's styles ({', '.join(version.styles)}) is a retouching user of ml.styles.")
    log_path = state_dir / "worker.log"
    worker, notes = None, []
    try:
        with phase("prepare", f"4/6 configuring study {SLUG!r}: {len(METHODS)} methods, pool in {len(pool_styles)} "
                              f"training styles (+ PieNet renderings of the model's {len(version.styles)} styles), "
                              f"{MIN_PICKS}-{MAX_PICKS} picks, {args.trials} trials + {ATTENTION_CHECKS} checks; "
                              "preparing the pool with a worker"):
            serializer = StudyConfigSerializer(data=study_config(args, version, pool, voting, pool_styles))
            if not serializer.is_valid():
                raise Failure(f"The study configuration is invalid: {json.dumps(serializer.errors)}")
            try:
                study = services.study_configure(config=serializer.validated_data)
            except ServiceError as error:
                raise Failure(f"The study could not be configured: {error}") from None
            # This worker stays up through the simulation too: simulate_study --start-worker gives its own
            # worker 120 s to answer a ping, which a worker importing torch on a busy machine can exceed; a
            # worker that answers already satisfies that wait (the two then share the renderings).
            worker = start_worker(log_path, args.timeout)
            ids = [photo.pk for photo in pool + voting]
            wait_for(lambda: not Photo.objects.filter(pk__in=ids, screen="").exists(), "making screen renditions",
                     worker, log_path, args.timeout,
                     lambda: f"{Photo.objects.filter(pk__in=ids).exclude(screen='').count()}/{len(ids)}")
            job = services.study_prepare_pool(study=study)
            job = wait_for_job(job.pk, "preparing the picking pool", worker, log_path, args.timeout)
            candidates = Candidate.objects.filter(photo__in=pool).exclude(image="")
            counts = {
                "test_split_photos": len(rows), "test_split_scenes": len({row["scene"] for row in rows}),
                "pool": len(pool), "pool_scenes": len({row["scene"] for row in pool_rows}),
                "voting": len(voting), "voting_scenes": len({row["scene"] for row in voting_rows}),
                "pool_candidates": candidates.count(),
                "pool_candidates_embedded": candidates.filter(embedding_model_version=version).count(),
            }
            try:
                study = services.study_set_open(study=study, is_open=True)
            except ServiceError as error:
                raise Failure(str(error)) from None
            progress(f"  pool ready: {counts['pool_candidates']} candidates ({job.result}); study open")

        tally_path = state_dir / "tally.json"
        options = ["--participants", str(args.participants), "--start-worker", "--seed", str(args.seed),
                   "--json", str(tally_path)]
        if args.careless:
            options += ["--careless", str(args.careless)]
        with phase("simulate", f"5/6 simulate_study: {args.participants} synthetic participants (seed {args.seed}, "
                               f"careless {args.careless})"):
            try:
                with stdout_to_stderr():
                    call_command("simulate_study", SLUG, *options, stdout=sys.stderr)
            except CommandError as error:
                raise Failure(f"simulate_study failed: {error}") from None
            except subprocess.TimeoutExpired as error:
                # Every participant is done, but the command's worker did not stop within the 30 s it waits
                # (on a busy machine it may still be importing torch or loading the model): stop it here and
                # read the same tally the command would have written (selectors.study_tally).
                progress(f"  simulate_study's worker did not stop within {error.timeout:.0f} s; stopping it here")
                notes.append("simulate_study's own worker did not stop within 30 s; the tally was read with "
                             "studies.selectors.study_tally, as the command does")
                stop_child(error.cmd)
                from studies import selectors

                study.refresh_from_db()
                tally_path.write_text(json.dumps(selectors.study_tally(study)))
    finally:
        stop_worker(worker)
    tally = json.loads(tally_path.read_text())
    progress("6/6 summarizing the tally")
    methods = [{"label": m.label, "kind": m.kind, "style": m.style} for m in study.methods.all()]
    result = summarize(args, tally, methods, version, counts, pool_styles, phase.seconds,
                       time.monotonic() - phase.started)
    result["notes"] = notes
    return result


def main() -> int:
    args = parse_args()
    try:
        check_inputs(args)
        if args.keep:
            state_dir = Path(tempfile.mkdtemp(prefix="pienet-study-"))
            result = run(args, state_dir)
            progress(f"kept the installation in {state_dir}")
        else:
            with tempfile.TemporaryDirectory(prefix="pienet-study-") as temporary:
                result = run(args, Path(temporary))
    except Failure as error:
        print(f"simulated_study: {error}", file=sys.stderr)
        return error.code
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    if args.report:
        from ml.experiments.report import add_simulated_study

        add_simulated_study(args.report, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
