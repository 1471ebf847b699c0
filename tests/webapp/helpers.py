"""Helpers for the platform tests: generated photos, tiny real checkpoints, real child processes."""
import io
import os
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STYLE_NAMES = ("bright", "warm")


def jpeg_bytes(width: int = 64, height: int = 48, seed: int = 0) -> bytes:
    """A small photo-like JPEG: smooth gradients plus noise, different for each seed."""
    rng = np.random.default_rng(seed)
    ramp_x = np.linspace(0, 1, width)[None, :, None]
    ramp_y = np.linspace(0, 1, height)[:, None, None]
    colour = rng.uniform(0.2, 0.8, size=(1, 1, 3))
    pixels = np.clip(colour * (0.5 + 0.5 * ramp_x) + 0.3 * ramp_y + rng.normal(0, 0.03, (height, width, 3)), 0, 1)
    buffer = io.BytesIO()
    Image.fromarray((pixels * 255).astype(np.uint8)).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def write_checkpoint(path: Path, seed: int, with_pienet: bool = True, styles=STYLE_NAMES) -> Path:
    """A real PieNet checkpoint with tiny sizes and random weights (named `styles`), through the ML public API."""
    import torch

    from ml.checkpoint import save_checkpoint
    from ml.config import ModelConfig
    from ml.models.embedding import EmbeddingNet
    from ml.models.pienet import PieNet

    torch.manual_seed(seed)
    config = ModelConfig(
        embed_size=32, pienet_size=32, vector_dim=16, preference_channels=8, decoder_channels=(16, 8, 8)
    )
    vectors = torch.nn.functional.normalize(torch.randn(len(styles), config.vector_dim), dim=1)
    pienet = PieNet(config) if with_pienet else None
    save_checkpoint(path, EmbeddingNet(config), pienet, config, list(styles), vectors,
                    metadata={"metrics": {"test_psnr": 20.0 + seed}}, half=True)
    return path


def write_photo_dir(root: Path, collections: list[str]) -> Path:
    """A photo directory in the shared layout: one folder per collection plus manifest.csv."""
    rows = ["file,collection,scene,width,height"]
    for index, collection in enumerate(collections):
        relative = f"{collection}/img{index}.jpg"
        (root / collection).mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(jpeg_bytes(seed=100 + index))
        rows.append(f"{relative},{collection},s{index},64,48")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    return root


def database_url() -> str:
    """The URL of the test database this session created, for processes started by tests."""
    from django.db import connection

    params = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{params['NAME']}"
    return f"postgres://{params['USER']}@{params['HOST']}:{params['PORT']}/{params['NAME']}"


def service_env(**overrides) -> dict:
    """Environment for a separately started process of this project (the production settings).

    Its local state goes to the suite's temporary PIENET_VAR_DIR unless a test passes its own.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PYTEST_"))}
    for key in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DEBUG"):
        env.pop(key, None)
    env.update(
        DJANGO_SETTINGS_MODULE="webapp.settings",
        SECRET_KEY=os.environ["SECRET_KEY"],
        LOG_LEVEL="INFO",
        PIENET_DEVICE="cpu",
        PYTHONUNBUFFERED="1",
    )
    env.update({key: str(value) for key, value in overrides.items()})
    return env


@contextmanager
def running_process(command: list[str], env: dict, log_path: Path):
    """Start `command` with output to `log_path`; always stop it (and wait) afterwards."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(condition, timeout: float, what: str, log_path: Path | None = None, interval: float = 0.25):
    """Poll `condition` until it returns something truthy; fail with the process log on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    log = log_path.read_text(errors="replace")[-4000:] if log_path and log_path.exists() else ""
    pytest.fail(f"Timed out after {timeout:.0f}s waiting for {what}.\n{log}")


def log_events(log_path: Path, message: str) -> list[dict]:
    """The JSON log records with this message that a child process wrote."""
    import json

    events = []
    for line in log_path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("message") == message:
                events.append(record)
    return events


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
