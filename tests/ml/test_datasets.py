import json

import numpy as np
import pytest
import torch

from ml.data.datasets import DatasetError, PairDataset, StepBatchSampler, TripletDataset
from ml.images import load_image


def test_pairs_are_aligned_crops_of_input_and_target(dataset_dir):
    dataset = PairDataset(dataset_dir, size=32, users=["bright"])
    for key in [(0, 1), (3, 2), (5, 3), (7, 11)]:
        image, target, user = dataset[key]
        assert image.shape == target.shape == (3, 32, 32) and image.dtype == torch.float32 and user == 0
        assert 0.0 <= float(image.min()) and float(image.max()) <= 1.0
        # the "bright" user is image ** 0.6: only an identical crop and rotation reproduces it
        assert (target - image.pow(0.6)).abs().mean() < 0.03


def test_items_are_a_function_of_their_key(dataset_dir):
    dataset = PairDataset(dataset_dir, size=32)
    first, again, other = dataset[(4, 99)], dataset[(4, 99)], dataset[(4, 100)]
    assert torch.equal(first[0], again[0])
    assert not torch.equal(first[0], other[0])
    assert len(dataset) == 8 * 3  # train rows × train users


def test_in_memory_store_gives_the_same_items(dataset_dir):
    on_disk = PairDataset(dataset_dir, size=32)
    in_memory = PairDataset(dataset_dir, size=32, in_memory=True)
    for a, b in zip(on_disk[(2, 5)][:2], in_memory[(2, 5)][:2]):
        assert torch.equal(a, b)


def test_triplets_use_user_targets_as_positives_and_others_as_negatives(dataset_dir):
    dataset = TripletDataset(dataset_dir, size=32, augment=False)
    sources = set()
    for index in range(len(dataset)):
        row, user_index = dataset.items[index]
        user = dataset.users[user_index]
        negative_row, negative_user = dataset.negative_source((index, index))
        assert negative_user != user
        sources.add(negative_user)
        user_index_out, positive, _ = dataset[(index, index)]
        assert user_index_out == user_index
        expected = torch.from_numpy(load_image(dataset.layout.target_path(user, dataset.rows[row])))
        expected = expected[:, 8:56].permute(2, 0, 1)  # the central 48×48 square, resized 48 → 32
        expected = torch.nn.functional.interpolate(expected[None], size=(32, 32), mode="bilinear",
                                                   antialias=True)[0]
        assert (positive - expected).abs().max() < 1e-5
    assert sources == {None, *dataset.users}  # input images and every user (as "other" of someone)


def test_sampler_slices_ranks_and_resumes_exactly():
    full = iter(StepBatchSampler(100, 8, seed=3))
    batches = [next(full) for _ in range(4)]
    resumed = next(iter(StepBatchSampler(100, 8, seed=3, start_step=2)))
    assert resumed == batches[2]
    rank0 = next(iter(StepBatchSampler(100, 8, seed=3, rank=0, world_size=2)))
    rank1 = next(iter(StepBatchSampler(100, 8, seed=3, rank=1, world_size=2)))
    assert rank0 + rank1 == batches[0]
    with pytest.raises(ValueError, match="divisible"):
        StepBatchSampler(100, 5, seed=0, world_size=2)


def test_bad_layouts_are_reported(tmp_path, dataset_dir):
    with pytest.raises(DatasetError, match="manifest.csv is missing"):
        PairDataset(tmp_path)
    (tmp_path / "manifest.csv").write_text("name,target\nx,x\n")
    (tmp_path / "users.json").write_text(json.dumps({"train_users": [], "test_users": []}))
    with pytest.raises(DatasetError, match="lacks the columns"):
        PairDataset(tmp_path)
    with pytest.raises(DatasetError, match="no folder for user"):
        PairDataset(dataset_dir, users=["nobody"])


def test_unreadable_dataset_image_is_reported(tmp_path, dataset_dir):
    import shutil

    copy = shutil.copytree(dataset_dir, tmp_path / "copy")
    (copy / "input" / "photo000.jpg").write_bytes(b"broken")
    dataset = PairDataset(copy, size=32)
    with pytest.raises(DatasetError, match="photo000"):
        dataset[(0, 0)]
    assert np.isfinite(dataset[(5, 0)][0].numpy()).all()
