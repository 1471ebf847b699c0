"""How long an enhancement job spends in the platform; prints one JSON object.

Runs the real path: a `celery worker` process (embedded filesystem broker by default, or Redis
with --broker), jobs created by `services.enhancement_request` and committed to the database, the
worker rendering them with a default-size PieNet (random weights: speed does not depend on them),
and the job rows polled as the browser would. Reports, per job, request-to-success latency and
the part of it that is not inference (queueing, loading, decoding, storing, bookkeeping).

Usage: python bench/platform_jobs.py [--jobs 10] [--size 768] [--broker redis://127.0.0.1:6379/14]
                                     [--database-url postgres://...] [--device cpu] [--out FILE]
"""
import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from bench.output import print_and_save  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10, help="Jobs to time (after one warm-up job).")
    parser.add_argument("--size", type=int, default=768, help="Long side of the generated photos.")
    parser.add_argument("--broker", default="", help="Broker URL; default: the embedded filesystem broker.")
    parser.add_argument("--database-url", default="", help="Database URL; default: a temporary SQLite file.")
    parser.add_argument("--device", default="cpu", help="Device of the worker's model: cpu, cuda or auto.")
    parser.add_argument("--out", type=Path, help="Also write the JSON here.")
    args = parser.parse_args()
    if args.jobs < 1 or args.size < 32:
        parser.error("--jobs must be at least 1 and --size at least 32")
    return args


def configure_environment(args, state_dir: Path) -> dict:
    """The same variables for this process and the worker, so both see one database and broker."""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="webapp.settings", DEBUG="1", PIENET_VAR_DIR=str(state_dir),
               PIENET_DEVICE=args.device, LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1")
    for key in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        env.pop(key, None)
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    if args.broker:
        env["CELERY_BROKER_URL"] = args.broker
    os.environ.clear()
    os.environ.update(env)
    return env


def write_random_checkpoint(path: Path) -> Path:
    import torch

    from ml.checkpoint import save_checkpoint
    from ml.config import ModelConfig
    from ml.models import EmbeddingNet, PieNet

    torch.manual_seed(0)
    config = ModelConfig()
    vectors = torch.nn.functional.normalize(torch.randn(1, config.vector_dim), dim=1)
    save_checkpoint(path, EmbeddingNet(config), PieNet(config), config, ["bench"], vectors)
    return path


def photo_bytes(size: int, seed: int) -> bytes:
    from PIL import Image

    from ml.images import to_uint8
    from ml.synthetic import synthetic_photo

    pixels = synthetic_photo(size * 2 // 3, size, np.random.default_rng(seed))
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(pixels)).save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def wait_until_done(job_id, timeout: float = 600.0):
    from webapp.core.models import Job

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.status == Job.Status.SUCCEEDED:
            return job
        if job.status == Job.Status.FAILED:
            raise SystemExit(f"job failed: {job.error}")
        time.sleep(0.02)
    raise SystemExit(f"job {job_id} did not finish within {timeout:.0f} s")


def timed_job(photo) -> tuple[float, float]:
    """(request-to-success seconds, inference seconds) for one job, polled like the browser does."""
    from webapp.core import services

    started = time.perf_counter()
    job = services.enhancement_request(photo=photo, style="bench", strength=1)
    done = wait_until_done(job.pk)
    return time.perf_counter() - started, done.result["seconds"]


def main() -> int:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="pienet-bench-") as temporary:
        state_dir = Path(temporary)
        env = configure_environment(args, state_dir)
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from webapp.celery import app as celery_app
        from webapp.core import services

        call_command("migrate", verbosity=0)
        services.model_version_register(
            checkpoint_path=write_random_checkpoint(state_dir / "bench.pt"), name="bench", activate=True
        )
        photos = [services.photo_create(data=photo_bytes(args.size, seed))[0] for seed in range(args.jobs + 1)]
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "webapp", "worker", "--queues", "gpu,cpu", "--pool", "solo",
             "--hostname", "bench@%h", "--loglevel", "WARNING"],
            cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            first_job_seconds, _ = timed_job(photos[0])  # includes the lazy model load
            timings = [timed_job(photo) for photo in photos[1:]]
        finally:
            worker.terminate()
            worker.wait(timeout=60)
        latencies = [latency for latency, _ in timings]
        overheads = [latency - inference for latency, inference in timings]
        result = {
            "benchmark": "platform_jobs",
            "broker": "embedded filesystem" if celery_app.conf.broker_url.startswith("filesystem") else "redis",
            "database": connection.vendor,
            "device": args.device,
            "photo_size": [args.size, args.size * 2 // 3],
            "jobs": args.jobs,
            "first_job_seconds": round(first_job_seconds, 3),
            "latency_p50_seconds": round(statistics.median(latencies), 3),
            "latency_max_seconds": round(max(latencies), 3),
            "inference_p50_seconds": round(statistics.median(inference for _, inference in timings), 3),
            "platform_overhead_p50_seconds": round(statistics.median(overheads), 3),
        }
    print_and_save(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
