"""The model inside a GPU worker process: loaded lazily on the first task, then kept.

Loading happens on first use rather than in `worker_process_init` so a worker starts (and answers
pings) at once, and CUDA is never initialised in a parent process before it forks. Each job pins
the model version that was active when it was requested; when a job names another version than
the one in memory (the active model was switched), the process loads that one instead: no restart.
"""
import logging
import time
from pathlib import Path

from django.conf import settings

from webapp.core.models import ModelVersion

logger = logging.getLogger(__name__)


class ModelUnavailable(Exception):
    """The registered checkpoint cannot be used (missing file, or changed since registration)."""


_loaded_key: tuple[int, str] | None = None
_loaded_enhancer = None


def enhancer_for(version: ModelVersion):
    """The `ml.inference.Enhancer` for `version`, loading it only when it is not already in memory."""
    global _loaded_key, _loaded_enhancer
    key = (version.pk, version.sha256)
    if key == _loaded_key:
        return _loaded_enhancer

    from ml.checkpoint import file_sha256
    from ml.inference import Enhancer

    path = Path(version.checkpoint_path)
    if not path.is_file():
        raise ModelUnavailable(f"The checkpoint of model {version.name} is missing ({path}).")
    if file_sha256(path) != version.sha256:
        raise ModelUnavailable(f"The checkpoint of model {version.name} changed after it was registered.")

    # Drop the previous model first so two never share the GPU's memory.
    _loaded_key, _loaded_enhancer = None, None
    started = time.perf_counter()
    enhancer = Enhancer.from_checkpoint(path, device=settings.PIENET_DEVICE)
    logger.info(
        "model_loaded",
        extra={
            "model_version": version.name,
            "model_version_id": version.pk,
            "sha256": version.sha256,
            "device": str(enhancer.device),
            "seconds": round(time.perf_counter() - started, 3),
        },
    )
    _loaded_key, _loaded_enhancer = key, enhancer
    return enhancer
