"""Fixtures for the public demo: the platform's fixtures (tiny real checkpoints, media folder, real
Celery worker over Redis), an active tiny model, and a clean rate-limit cache for every test."""
import pytest
import torch
from django.core.cache import cache

from ml.checkpoint import load_checkpoint, save_checkpoint

from tests.webapp.conftest import (  # noqa: F401  (re-used platform fixtures)
    celery_worker, checkpoint_dir, media_root, private_root, redis_broker, tiny_checkpoint,
)
from webapp.core import services as core_services


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate-limit counters and the previews' queueing lock live in the cache: start each test empty."""
    cache.clear()
    yield
    cache.clear()


def write_styled_checkpoint(source, path, extra_styles: int = 0):
    """`source` with a non-zero last layer: an untrained PieNet is the identity, this one changes
    photos, and differently for each preference vector (so looks can be told apart); optionally
    with more styles (random vectors named s01, s02, ...) to fill the style picker."""
    loaded = load_checkpoint(source)
    torch.manual_seed(7)
    torch.nn.init.normal_(loaded.pienet.to_delta.weight, std=0.2)
    styles = dict(loaded.styles)
    for index in range(1, extra_styles + 1):
        styles[f"s{index:02d}"] = torch.nn.functional.normalize(torch.randn(loaded.config.vector_dim), dim=0)
    names = sorted(styles)
    save_checkpoint(path, loaded.embedding_net, loaded.pienet, loaded.config, names,
                    torch.stack([styles[name].float() for name in names]), half=True)
    return path


@pytest.fixture(scope="session")
def styled_checkpoint(tiny_checkpoint, checkpoint_dir):
    return write_styled_checkpoint(tiny_checkpoint, checkpoint_dir / "tiny-styled.pt")


@pytest.fixture
def active_model(styled_checkpoint):
    """The styled tiny model (styles "bright" and "warm"), active."""
    version, _ = core_services.model_version_register(checkpoint_path=styled_checkpoint, name="tiny", activate=True)
    return version


@pytest.fixture
def many_styles_model(tiny_checkpoint, checkpoint_dir):
    """Like `active_model` with 24 styles, as many as a real checkpoint offers."""
    path = write_styled_checkpoint(tiny_checkpoint, checkpoint_dir / "tiny-many.pt", extra_styles=22)
    version, _ = core_services.model_version_register(checkpoint_path=path, name="tiny-many", activate=True)
    return version
