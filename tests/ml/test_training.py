import json
import socket

import pytest
import torch
import torch.distributed as dist

from ml.checkpoint import load_checkpoint
from ml.config import ModelConfig
from ml.synthetic import make_synthetic_dataset
from ml.training.common import MetricsLog, TrainingInterrupted
from ml.training.embedding import train_embedding
from ml.training.pienet import train_pienet

SMALL = ModelConfig(embed_size=32)


def _losses(run_dir):
    return [json.loads(line)["loss"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def _state(path):
    loaded = load_checkpoint(path)
    return {**loaded.embedding_net.state_dict(), "vectors": torch.stack(list(loaded.styles.values()))}


def test_tiny_pienet_run_cuts_its_loss_by_a_third(tmp_path, embedding_recipe, pienet_recipe):
    data = make_synthetic_dataset(tmp_path / "data", train_users=["bright"])
    stage1 = train_embedding(data, tmp_path / "stage1", embedding_recipe(steps=1, random_users=0), SMALL)
    run = tmp_path / "stage2"
    train_pienet(data, run, pienet_recipe(steps=60, batch_size=4, learning_rate=1e-3),
                 embedding_checkpoint=stage1, pienet_size=32)
    losses = _losses(run)
    assert len(losses) == 60
    # Inputs are fresh random camera degradations of each photo (ml.data.degrade.camera_input): noisy batches.
    assert sum(losses[-10:]) / 10 < 0.67 * sum(losses[:5]) / 5, losses


def _interrupt_at(monkeypatch, stop_step: int):
    """Make training raise Ctrl-C right after logging ``stop_step`` (its checkpoint is then saved)."""
    original = MetricsLog.write

    def interrupt(self, record):
        original(self, record)
        if record["step"] == stop_step:
            raise KeyboardInterrupt

    monkeypatch.setattr(MetricsLog, "write", interrupt)
    return lambda: monkeypatch.setattr(MetricsLog, "write", original)


def test_resume_continues_exactly_where_the_run_stopped(tmp_path, dataset_dir, monkeypatch, embedding_recipe):
    straight = train_embedding(dataset_dir, tmp_path / "straight", embedding_recipe(steps=4), SMALL)
    restore = _interrupt_at(monkeypatch, 2)
    with pytest.raises(TrainingInterrupted):
        train_embedding(dataset_dir, tmp_path / "split", embedding_recipe(steps=4), SMALL)
    restore()
    resumed = train_embedding(dataset_dir, tmp_path / "split", embedding_recipe(steps=4), resume=True)
    expected, actual = _state(straight), _state(resumed)
    for name, tensor in expected.items():
        torch.testing.assert_close(actual[name], tensor, rtol=1e-5, atol=1e-6, msg=name)
    assert load_checkpoint(resumed).metadata["step"] == 4
    assert len(_losses(tmp_path / "split")) == 4


def test_ctrl_c_saves_a_checkpoint_that_resumes(tmp_path, dataset_dir, monkeypatch, embedding_recipe):
    restore = _interrupt_at(monkeypatch, 2)
    with pytest.raises(TrainingInterrupted, match="--resume"):
        train_embedding(dataset_dir, tmp_path, embedding_recipe(steps=5), SMALL)
    assert load_checkpoint(tmp_path / "checkpoint.pt").metadata["step"] == 2
    restore()
    train_embedding(dataset_dir, tmp_path, embedding_recipe(steps=3), resume=True)
    assert load_checkpoint(tmp_path / "checkpoint.pt").metadata["step"] == 3


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_training_runs_under_a_torchrun_style_process_group(tmp_path, dataset_dir, monkeypatch, embedding_recipe,
                                                             pienet_recipe):
    """The DDP path (gloo on CPU) with one process, as `torchrun --nproc_per_node 1` would start it."""
    for name, value in {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
                        "MASTER_PORT": str(_free_port())}.items():
        monkeypatch.setenv(name, value)
    stage1 = train_embedding(dataset_dir, tmp_path / "stage1", embedding_recipe(steps=1), SMALL)
    stage2 = train_pienet(dataset_dir, tmp_path / "stage2", pienet_recipe(steps=1), embedding_checkpoint=stage1,
                          pienet_size=32)
    assert not dist.is_initialized()
    assert load_checkpoint(stage2).pienet is not None
    record = json.loads((tmp_path / "stage2" / "metrics.jsonl").read_text().splitlines()[-1])
    assert {"loss", "colour", "perceptual", "tv", "images_per_s"} <= set(record)


def test_a_warm_started_pienet_begins_from_the_given_weights(tmp_path, dataset_dir, embedding_recipe, pienet_recipe):
    stage1 = train_embedding(dataset_dir, tmp_path / "stage1", embedding_recipe(steps=1), SMALL)
    first = train_pienet(dataset_dir, tmp_path / "first", pienet_recipe(steps=2), embedding_checkpoint=stage1,
                         pienet_size=32)
    second = train_pienet(dataset_dir, tmp_path / "second", pienet_recipe(steps=1, learning_rate=1e-9, min_subset=2),
                          embedding_checkpoint=stage1, pienet_size=32, warm_start=first)
    before, after = load_checkpoint(first).pienet.state_dict(), load_checkpoint(second).pienet.state_dict()
    weight = "to_delta.weight"
    torch.testing.assert_close(after[weight], before[weight], atol=1e-6, rtol=1e-4)
    assert load_checkpoint(second).metadata["warm_start"] == str(first)
