"""The v2 training data: photos in RAM, users rendered on the fly, batches that are pure functions of the step."""

import numpy as np
import pytest
import torch

from ml.data.datasets import DatasetError
from ml.data.degrade import camera_input
from ml.data.style_bank import GridBatch, open_bank, training_users
from ml.training.common import scheduled_rate
from ml.training.pienet import subset_mean_vectors
from ml.config import EmbeddingRecipe


@pytest.fixture(scope="module")
def bank(dataset_dir):
    return open_bank(dataset_dir, random_users=3, cache_size=48, progress=False)


def test_bank_holds_the_named_users_from_disk_and_the_random_ones_as_renderers(bank):
    assert bank.user_names == ["bright", "warm", "cool", "random-00000", "random-00001", "random-00002"]
    assert [user.render is None for user in bank.users] == [True] * 3 + [False] * 3
    assert all(photo.clean is not None and set(photo.targets) == {"bright", "warm", "cool"} for photo in bank.photos)
    assert min(bank.photos[0].clean.shape[:2]) == 48


def test_grid_batch_is_a_pure_function_of_seed_and_step(bank):
    first, again, other = bank.grid_batch(0, 5, 3, 2, 32), bank.grid_batch(0, 5, 3, 2, 32), bank.grid_batch(0, 6, 3, 2, 32)
    assert first.images.shape == (3 * 3, 3, 32, 32) and len(first.users) == 2
    assert torch.equal(first.images, again.images) and torch.equal(first.users, again.users)
    assert not torch.equal(first.images, other.images)
    assert 0.0 <= float(first.images.min()) and float(first.images.max()) <= 1.0


def test_grid_triplets_pair_each_positive_with_every_other_look_of_its_photo():
    batch = GridBatch(torch.zeros(2 * 4, 3, 8, 8), torch.tensor([7, 8, 9]), photos=2)
    anchors, positives, negatives = batch.triplets()
    assert len(anchors) == 2 * 3 * 3  # photos × users × (other users + the input)
    for anchor, positive, negative in zip(anchors.tolist(), positives.tolist(), negatives.tolist()):
        assert positive // 4 == negative // 4 and positive != negative  # same photo, another look
        assert anchor == [7, 8, 9][positive % 4 - 1]  # the positive is the anchor user's own retouch
    assert {negative % 4 for negative in negatives.tolist()} == {0, 1, 2, 3}  # the input is a negative too


def test_pair_batch_targets_are_the_users_looks_of_the_same_crop(bank):
    inputs, targets, users = bank.pair_batch(1, 3, 4, 32)
    assert inputs.shape == targets.shape == (4, 3, 32, 32) and users.shape == (4,)
    assert not torch.equal(inputs, targets)
    again = bank.pair_batch(1, 3, 4, 32)
    assert all(torch.equal(a, b) for a, b in zip((inputs, targets, users), again))


def test_named_share_decides_how_often_a_named_user_is_drawn(bank):
    rng = np.random.default_rng(0)
    draws = np.concatenate([bank.sample_users(rng, 2) for _ in range(400)])
    named = np.isin(draws, bank.named).mean()
    assert 0.4 < named < 0.6


def test_random_users_need_the_undegraded_photos():
    with pytest.raises(DatasetError, match="random users need the undegraded photos"):
        training_users(["bright"], 3, renderable=False)


def test_camera_inputs_differ_per_draw_and_stay_in_range():
    image = np.random.default_rng(0).uniform(0.2, 0.8, (32, 48, 3)).astype(np.float32)
    first = camera_input(image, np.random.default_rng(1))
    second = camera_input(image, np.random.default_rng(2))
    assert first.shape == image.shape and first.dtype == np.float32
    assert 0.0 <= first.min() and first.max() <= 1.0 and not np.allclose(first, second)


def test_subset_mean_vectors_are_unit_means_of_one_to_max_subset_pool_members():
    pools = torch.nn.functional.normalize(torch.randn(3, 10, 8), dim=-1)
    vectors = subset_mean_vectors(pools, torch.tensor([0, 1, 2, 2]), 10, torch.Generator().manual_seed(0))
    assert vectors.shape == (4, 8)
    torch.testing.assert_close(vectors.norm(dim=1), torch.ones(4))
    single = subset_mean_vectors(pools, torch.tensor([1]), 1, torch.Generator().manual_seed(0))[0]
    assert any(torch.allclose(single, member, atol=1e-6) for member in pools[1])  # subset of one: a member


def test_learning_rate_warms_up_then_decays_by_cosine():
    recipe = EmbeddingRecipe(steps=100, warmup_steps=10)
    rates = [scheduled_rate(step, recipe) for step in range(100)]
    assert rates[0] == pytest.approx(0.1) and rates[9] == pytest.approx(1.0)
    assert rates[10] == pytest.approx(1.0) and rates[99] < 0.06
    assert all(later <= earlier for earlier, later in zip(rates[10:], rates[11:]))


def test_min_subset_bounds_how_few_embeddings_a_training_vector_averages():
    pools = torch.nn.functional.normalize(torch.randn(2, 6, 8), dim=-1)
    full = subset_mean_vectors(pools, torch.tensor([0, 1, 1]), 6, torch.Generator().manual_seed(3), min_subset=6)
    torch.testing.assert_close(full, torch.nn.functional.normalize(pools.mean(dim=1), dim=-1)[[0, 1, 1]])
