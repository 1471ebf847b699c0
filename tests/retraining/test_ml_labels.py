"""The ML side of retraining without Django: label datasets, their held-out split, fine-tuning from a checkpoint
or from scratch, and the held-out evaluation."""
import json

import numpy as np
import pytest
import torch

from ml.checkpoint import file_sha256, load_checkpoint
from ml.config import ConfigError
from ml.data.datasets import DatasetError
from ml.data.labels import LabelDataset, LabelDatasetWriter, LabelPairDataset, LabelTripletDataset, UserLabels
from ml.inference import Enhancer
from ml.label_evaluation import auc, evaluate_heldout
from ml.synthetic import USER_EDITS, synthetic_photo
from ml.training.finetune import FinetuneRecipe, finetune
from tests.webapp.helpers import write_checkpoint

TINY_RECIPE = {"embedding": {"steps": 3, "batch_size": 4, "log_every": 1},
               "pienet": {"steps": 3, "batch_size": 2, "log_every": 1}, "style_examples": 2}


def write_labels(root, participants=4, photos=10, seed=0) -> LabelDataset:
    """Photos rendered in the synthetic users' edits; participant k likes edit k % 2 ('warm' or 'cool') and
    leaves the others; the 'bright' edit is also a named style with ground-truth renderings."""
    rng = np.random.default_rng(seed)
    writer = LabelDatasetWriter(root)
    liked_edits = ["warm", "cool"]
    users = []
    for index in range(photos):
        photo = synthetic_photo(40, 56, rng)
        writer.add_image(f"photo-{index}", photo)
        for edit in ("warm", "cool", "bright", "contrast"):
            writer.add_image(f"c{index}-{edit}", np.clip(USER_EDITS[edit](photo), 0, 1))
    for number in range(participants):
        liked = liked_edits[number % 2]
        shown = range(number % 3, photos)
        users.append(UserLabels(
            name=f"P-{number}", positives=[f"c{i}-{liked}" for i in shown],
            negatives=[f"c{i}-{edit}" for i in shown for edit in ("bright", "contrast")],
            pairs=[(f"photo-{i}", f"c{i}-{liked}") for i in shown],
        ))
    users.append(UserLabels(
        name="bright", kind="style", positives=[f"c{i}-bright" for i in range(3)],
        negatives=[f"photo-{i}" for i in range(3)] + [f"c{i}-contrast" for i in range(3)],
        pairs=[(f"photo-{i}", f"c{i}-bright") for i in range(3)],
    ))
    return writer.write(users, details={"source": "test"})


@pytest.fixture
def labels(tmp_path):
    return write_labels(tmp_path / "labels")


def test_label_dataset_round_trips_and_refuses_broken_folders(labels, tmp_path):
    opened = LabelDataset.open(labels.root)
    assert [user.name for user in opened.users] == [user.name for user in labels.users]
    assert opened.details == {"source": "test"} and len(opened.participants) == 4 and len(opened.styles) == 1
    with pytest.raises(DatasetError, match="labels.json is missing"):
        LabelDataset.open(tmp_path)
    payload = json.loads((labels.root / "labels.json").read_text())
    payload["users"][0]["positives"].append("nowhere")
    (labels.root / "labels.json").write_text(json.dumps(payload))
    with pytest.raises(DatasetError, match="unknown images: nowhere"):
        LabelDataset.open(labels.root)


def test_heldout_split_is_stable_and_keeps_training_labels(labels):
    split = labels.split(0.25, seed=3)
    assert split.counts() == labels.split(0.25, seed=3).counts()
    for train, held, full in zip(split.train, split.heldout, labels.users):
        assert sorted(train.positives + held.positives) == sorted(full.positives)
        assert not set(train.negatives) & set(held.negatives)
        if full.kind == "style":
            assert not held.positives and train.pairs == full.pairs
        else:
            assert train.positives and held.positives and held.negatives
            assert {target for _, target in held.pairs} == set(held.positives)
    # A participant's held-out picks do not depend on the other participants.
    fewer = LabelDataset(labels.root, labels.users[:1], labels.images, {}).split(0.25, seed=3)
    assert fewer.heldout[0].positives == split.heldout[0].positives


def test_triplets_and_pairs_come_from_each_users_own_labels(labels):
    users = labels.split(0.2).train
    triplets = LabelTripletDataset(labels, users, size=32, augment=False)
    user_index, positive, negative = triplets[(0, 7)]
    assert positive.shape == negative.shape == (3, 32, 32)
    assert len(triplets) == sum(len(user.positives) for user in users)
    pairs = LabelPairDataset(labels, users, size=32)
    source, target, user_index = pairs[(len(pairs) - 1, 1)]
    assert users[user_index].kind == "style" and source.shape == target.shape == (3, 32, 32)


def test_auc_counts_ranked_pairs_and_ties():
    assert auc([3, 2], [1, 0]) == 1.0
    assert auc([0], [1]) == 0.0
    assert auc([1, 1], [1, 0]) == 0.75
    with pytest.raises(ValueError):
        auc([], [1])


def test_recipe_defaults_by_mode_and_refuses_bad_values():
    assert FinetuneRecipe.from_dict({}).embedding.learning_rate == 1e-5
    scratch = FinetuneRecipe.from_dict({"from_scratch": True, "pienet": {"steps": 7}})
    assert scratch.embedding.learning_rate == 1e-4 and scratch.pienet.steps == 7
    assert FinetuneRecipe.from_dict(scratch.to_dict()).to_dict() == scratch.to_dict()
    for bad, message in [({"pienet": {"stepz": 1}}, "Unknown pienet recipe keys: stepz"),
                         ({"embedding": {"steps": 0}}, "embedding.steps must be a positive integer"),
                         ({"heldout_fraction": 1.5}, "heldout_fraction"), ({"colour": 1}, "Unknown retraining"),
                         ({"from_scratch": "yes"}, "from_scratch"),
                         ({"pienet": {"crop_scale": [0.9, 0.5]}}, "pienet.crop_scale must be two fractions"),
                         ({"pienet": {"vector_noise": "loud"}}, "pienet.vector_noise must be like 0.1"),
                         ({"embedding": {"crop_scale": 1}}, "embedding.crop_scale must be like")]:
        with pytest.raises(ConfigError, match=message):
            FinetuneRecipe.from_dict(bad)


def test_finetune_from_a_checkpoint_then_evaluate(labels, tmp_path):
    torch.set_num_threads(1)
    base_path = write_checkpoint(tmp_path / "base.pt", seed=5)
    before = file_sha256(base_path)
    reports = []
    result = finetune(labels.root, tmp_path / "run", FinetuneRecipe.from_dict(TINY_RECIPE), base_checkpoint=base_path,
                      device="cpu", on_step=lambda stage, step, total, terms: reports.append((stage, step, total)))
    assert reports == [("finetune-embedding", s, 3) for s in (1, 2, 3)] + [("finetune-pienet", s, 3) for s in (1, 2, 3)]
    assert file_sha256(base_path) == before  # the base model's file is never written
    model = load_checkpoint(result.checkpoint)
    base = load_checkpoint(base_path)
    # Named styles: the base's two; 'bright' learned from its renderings, 'warm' (none given) kept as it was.
    assert sorted(model.styles) == sorted(base.styles) == sorted(result.styles) == ["bright", "warm"]
    assert torch.equal(model.styles["warm"], base.styles["warm"])
    assert set(result.participant_vectors) == {f"P-{n}" for n in range(4)}
    assert model.metadata["split"]["heldout"]["positives"] > 0 and model.metadata["labels"] == {"source": "test"}
    changed = any(not torch.equal(a, b) for a, b in zip(model.pienet.state_dict().values(),
                                                        base.pienet.state_dict().values()))
    assert changed

    metrics = evaluate_heldout(Enhancer.from_checkpoint(result.checkpoint, device="cpu"), labels, result.split)
    assert metrics["participants"] == 4 and metrics["auc_participants"] == 4
    assert 0 <= metrics["auc"] <= 1 and metrics["psnr"] > 5 and metrics["identity_psnr"] > 5
    assert metrics["psnr_pairs"] == result.split.counts()["heldout"]["pairs"]
    json.dumps(metrics, allow_nan=False)


def test_finetune_from_scratch_keeps_the_sizes_and_learns_only_styles_with_renderings(labels, tmp_path):
    torch.set_num_threads(1)
    base_path = write_checkpoint(tmp_path / "base.pt", seed=6)
    recipe = FinetuneRecipe.from_dict({**TINY_RECIPE, "from_scratch": True})
    result = finetune(labels.root, tmp_path / "run", recipe, base_checkpoint=base_path, device="cpu")
    model = load_checkpoint(result.checkpoint)
    assert model.config == load_checkpoint(base_path).config and list(model.styles) == ["bright"]
    with pytest.raises(ValueError, match="needs a base checkpoint"):
        finetune(labels.root, tmp_path / "other", FinetuneRecipe.from_dict(TINY_RECIPE), device="cpu")


def test_finetune_command_line(labels, tmp_path, capsys):
    from ml.cli import main

    torch.set_num_threads(1)
    base_path = write_checkpoint(tmp_path / "base.pt", seed=8)
    recipe = json.dumps(TINY_RECIPE)
    assert main(["finetune", "--labels", str(labels.root), "--out", str(tmp_path / "run"), "--base", str(base_path),
                 "--recipe-json", recipe, "--device", "cpu"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["checkpoint"].endswith("checkpoint.pt") and printed["heldout"]["participants"] == 4
    assert main(["finetune", "--labels", str(labels.root), "--out", str(tmp_path / "bad"), "--base", str(base_path),
                 "--recipe-json", '{"pienet": {"stepz": 1}}']) == 2
    assert "Unknown pienet recipe keys: stepz" in capsys.readouterr().err
