"""Shared fixtures: a tiny synthetic FiveK-layout dataset, tiny model configs, and a tiny trained checkpoint."""

import pytest
import torch

from ml.config import EmbeddingRecipe, ModelConfig, PieNetRecipe
from ml.models import EmbeddingNet
from ml.synthetic import make_synthetic_dataset
from ml.training.embedding import train_embedding
from ml.training.pienet import train_pienet
from tests.ml.helpers import active_pienet

TINY = ModelConfig(embed_size=32, pienet_size=64)


@pytest.fixture(scope="session")
def dataset_dir(tmp_path_factory):
    return make_synthetic_dataset(tmp_path_factory.mktemp("dataset"), rows=12, height=48, width=64)


@pytest.fixture
def tiny_config():
    return TINY


@pytest.fixture
def tiny_networks(tiny_config):
    torch.manual_seed(0)
    return EmbeddingNet(tiny_config).eval(), active_pienet(tiny_config)


def _embedding_recipe(**overrides) -> EmbeddingRecipe:
    values = dict(steps=2, batch_size=4, users_per_batch=3, learning_rate=1e-3, log_every=1, save_every=1000,
                  random_users=2, pool_size=4, cache_size=48)
    return EmbeddingRecipe(**{**values, **overrides})


def _pienet_recipe(**overrides) -> PieNetRecipe:
    values = dict(steps=2, batch_size=2, learning_rate=1e-3, log_every=1, save_every=1000, cache_size=48)
    return PieNetRecipe(**{**values, **overrides})


@pytest.fixture
def embedding_recipe():
    """Factory of tiny stage-1 recipes (keyword overrides)."""
    return _embedding_recipe


@pytest.fixture
def pienet_recipe():
    """Factory of tiny stage-2 recipes (keyword overrides)."""
    return _pienet_recipe


@pytest.fixture(scope="session")
def trained_checkpoint(tmp_path_factory, dataset_dir):
    """Both stages for two steps at tiny sizes: a real checkpoint for CLI and inference tests."""
    out = tmp_path_factory.mktemp("trained")
    stage1 = train_embedding(dataset_dir, out / "embedding", _embedding_recipe(), ModelConfig(embed_size=32))
    return train_pienet(dataset_dir, out / "pienet", _pienet_recipe(), embedding_checkpoint=stage1, pienet_size=64)


@pytest.fixture(autouse=True, scope="session")
def _single_thread():
    """Tiny tensors gain nothing from two threads, and one thread keeps timings sane on a busy 2-core box."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
