"""How long the public demo takes to return a result for a large upload; prints one JSON object.

The real path: the demo's API views (called in-process through Django's test client, as the web
server would run them), a `celery worker` process with the model loaded (one warm-up run first),
the broker, the database and media storage. Each run uploads a fresh photo (default 12 megapixels,
a real photo from PIENET_PHOTOS_DIR enlarged with sensor-like grain, so that it decodes and encodes
like a camera JPEG), asks for a look, polls the result as the studio page does and fetches the
screen-size result; then downloads the full-resolution file.

Usage: python bench/demo_latency.py [--runs 5] [--megapixels 12] [--checkpoint PATH] [--threads N]
                                    [--broker redis://127.0.0.1:6379/14] [--database-url postgres://...]
Without --checkpoint the model is a default-size PieNet with random weights (network at long side
512; speed does not depend on the weights).
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
from bench.platform_jobs import write_random_checkpoint  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="Timed runs (after one warm-up run).")
    parser.add_argument("--megapixels", type=float, default=12.0, help="Size of the uploaded photos (4:3).")
    parser.add_argument("--checkpoint", type=Path, help="Model to render with; default: random default-size PieNet.")
    parser.add_argument("--broker", default="", help="Broker URL; default: the embedded filesystem broker.")
    parser.add_argument("--database-url", default="", help="Database URL; default: a temporary SQLite file.")
    parser.add_argument("--device", default="cpu", help="Device of the worker's model: cpu, cuda or auto.")
    parser.add_argument("--threads", type=int, default=0,
                        help="Torch threads of the worker (OMP_NUM_THREADS); 0: as the environment says. On a machine "
                             "shared with other busy processes 1 is often faster (see ml/README.md, Speed).")
    parser.add_argument("--out", type=Path, help="Also write the JSON here.")
    args = parser.parse_args()
    if args.runs < 1 or args.megapixels <= 0:
        parser.error("--runs must be at least 1 and --megapixels positive")
    return args


def configure_environment(args, state_dir: Path) -> dict:
    """The same variables for this process and the worker; no rate limits (one client makes every request)."""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="webapp.settings", DEBUG="1", PIENET_VAR_DIR=str(state_dir),
               PIENET_DEVICE=args.device, LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1", ALLOWED_HOSTS="testserver",
               PIENET_DEMO_UPLOAD_RATE="", PIENET_DEMO_RENDER_RATE="", PIENET_DEMO_POLL_RATE="")
    for key in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        env.pop(key, None)
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    if args.broker:
        env["CELERY_BROKER_URL"] = args.broker
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    os.environ.clear()
    os.environ.update(env)
    return env


def camera_like_jpeg(megapixels: float, seed: int) -> bytes:
    """A photo enlarged to the size, with grain, saved like a camera does (quality 92, 4:2:0)."""
    from django.conf import settings
    from PIL import Image

    from ml.images import load_image_uint8, resize_image
    from ml.synthetic import synthetic_photo
    from webapp.core.demo_photos import demo_photo_sources

    width = int(round((megapixels * 1e6 * 4 / 3) ** 0.5))
    height = int(round(width * 3 / 4))
    rng = np.random.default_rng(seed)
    sources = demo_photo_sources(settings.PIENET_PHOTOS_DIR, 12)
    if sources:
        small = load_image_uint8(sources[seed % len(sources)][0])
    else:
        small = (synthetic_photo(480, 640, rng) * 255).astype(np.uint8)
    pixels = resize_image(small, (width, height)).astype(np.int16)
    pixels += rng.normal(0, 4, pixels.shape).astype(np.int16)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def timed_run(client, data: bytes, style: str) -> dict:
    """Seconds from the upload's first byte to the result on screen, with the parts, as a browser sees them."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    started = time.perf_counter()
    upload = client.post("/api/demo/uploads/", {"image": SimpleUploadedFile("photo.jpg", data, "image/jpeg")})
    assert upload.status_code == 201, upload.content
    uploaded = time.perf_counter()
    result = client.post(f"/api/demo/uploads/{upload.json()['token']}/renders/", {"style": style},
                         content_type="application/json").json()
    while result["status"] not in ("succeeded", "failed"):
        time.sleep(0.05)
        result = client.get(f"/api/demo/results/{result['token']}/").json()
    if result["status"] == "failed":
        raise SystemExit(f"rendering failed: {result['error']}")
    rendered = time.perf_counter()
    screen = b"".join(client.get(result["after_url"]).streaming_content)
    shown = time.perf_counter()
    full = b"".join(client.get(result["download_url"]).streaming_content)
    downloaded = time.perf_counter()
    from webapp.demo.models import Result

    inference = Result.objects.select_related("job").get(token=result["token"]).job.result["seconds"]
    return {
        "total": shown - started, "upload": uploaded - started, "render": rendered - uploaded,
        "inference": inference, "download": downloaded - shown, "result_bytes": len(full), "screen_bytes": len(screen),
    }


def main() -> int:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="pienet-bench-demo-") as temporary:
        state_dir = Path(temporary)
        env = configure_environment(args, state_dir)
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client

        from webapp.celery import app as celery_app
        from webapp.core import services

        call_command("migrate", verbosity=0)
        checkpoint = args.checkpoint or write_random_checkpoint(state_dir / "bench.pt")
        version, _ = services.model_version_register(checkpoint_path=checkpoint, name="bench", activate=True)
        style = version.styles[0]
        photos = [camera_like_jpeg(args.megapixels, seed) for seed in range(args.runs + 1)]
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "webapp", "worker", "--queues", "gpu,cpu", "--pool", "solo",
             "--hostname", "bench-demo@%h", "--loglevel", "WARNING"],
            cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = Client()
        try:
            warm_up = timed_run(client, photos[0], style)  # includes the worker's lazy model load
            runs = [timed_run(client, photo, style) for photo in photos[1:]]
        finally:
            worker.terminate()
            worker.wait(timeout=60)

        def median(key: str) -> float:
            return round(statistics.median(run[key] for run in runs), 3)

        result = {
            "benchmark": "demo_latency",
            "broker": "embedded filesystem" if celery_app.conf.broker_url.startswith("filesystem") else "redis",
            "database": connection.vendor,
            "device": args.device,
            "worker_threads": int(os.environ.get("OMP_NUM_THREADS", 0)) or os.cpu_count(),
            "model": str(args.checkpoint) if args.checkpoint else "random default-size PieNet",
            "network_size": version.config.get("pienet_size"),
            "upload_megapixels": round(args.megapixels, 1),
            "upload_megabytes": round(statistics.mean(len(photo) for photo in photos) / 2**20, 2),
            "runs": args.runs,
            "warm_up_total_seconds": round(warm_up["total"], 3),
            "total_p50_seconds": median("total"),
            "total_best_seconds": round(min(run["total"] for run in runs), 3),
            "total_max_seconds": round(max(run["total"] for run in runs), 3),
            "upload_p50_seconds": median("upload"),
            "render_p50_seconds": median("render"),
            "inference_p50_seconds": median("inference"),
            "download_p50_seconds": median("download"),
            "result_megabytes": round(statistics.mean(run["result_bytes"] for run in runs) / 2**20, 2),
        }
    print_and_save(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
