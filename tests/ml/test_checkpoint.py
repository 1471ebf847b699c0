import hashlib

import pytest
import torch

from ml.checkpoint import (FORMAT_VERSION, CheckpointError, file_sha256, load_checkpoint, load_training_state,
                           save_checkpoint, save_training_state)
from ml.config import ModelConfig

NAMES = ["bright", "warm"]


def _save(path, networks, config, **kwargs):
    embedding_net, pienet = networks
    vectors = torch.randn(len(NAMES), config.vector_dim, generator=torch.Generator().manual_seed(0))
    save_checkpoint(path, embedding_net, pienet, config, NAMES, vectors, **kwargs)
    return vectors


def test_round_trip_restores_everything(tmp_path, tiny_config, tiny_networks):
    vectors = _save(tmp_path / "model.pt", tiny_networks, tiny_config, metadata={"step": 7})
    loaded = load_checkpoint(tmp_path / "model.pt")
    assert loaded.config == tiny_config and loaded.format_version == FORMAT_VERSION
    assert loaded.metadata == {"step": 7} and list(loaded.styles) == NAMES
    torch.testing.assert_close(torch.stack(list(loaded.styles.values())), vectors)
    for original, restored in zip(tiny_networks, (loaded.embedding_net, loaded.pienet)):
        for (name, tensor), (_, other) in zip(original.state_dict().items(), restored.state_dict().items()):
            assert torch.equal(tensor, other), name
    assert not loaded.pienet.training


def test_half_checkpoint_is_smaller_and_loads_as_float32(tmp_path, tiny_config, tiny_networks):
    _save(tmp_path / "full.pt", tiny_networks, tiny_config)
    _save(tmp_path / "half.pt", tiny_networks, tiny_config, half=True)
    assert (tmp_path / "half.pt").stat().st_size < 0.6 * (tmp_path / "full.pt").stat().st_size
    loaded = load_checkpoint(tmp_path / "half.pt")
    weight = loaded.pienet.to_delta.weight
    assert weight.dtype == torch.float32
    torch.testing.assert_close(weight, tiny_networks[1].to_delta.weight, atol=1e-3, rtol=1e-3)


def test_embedding_only_checkpoint_has_no_pienet(tmp_path, tiny_config, tiny_networks):
    _save(tmp_path / "stage1.pt", (tiny_networks[0], None), tiny_config)
    assert load_checkpoint(tmp_path / "stage1.pt").pienet is None


def test_sha256_matches_hashlib(tmp_path, tiny_config, tiny_networks):
    _save(tmp_path / "model.pt", tiny_networks, tiny_config)
    assert file_sha256(tmp_path / "model.pt") == hashlib.sha256((tmp_path / "model.pt").read_bytes()).hexdigest()


class Payload:
    """Not a tensor: a weights-only load must refuse to build it."""


@pytest.mark.parametrize("content, message", [
    (b"", "damaged or not a checkpoint"),
    (b"definitely not a checkpoint", "not a PieNet Studio checkpoint"),
])
def test_unreadable_files_are_rejected(tmp_path, content, message):
    (tmp_path / "bad.pt").write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(tmp_path / "bad.pt")


def test_arbitrary_objects_are_never_unpickled(tmp_path):
    torch.save({"format": "pienet-studio", "payload": Payload()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="refused for safety"):
        load_checkpoint(tmp_path / "evil.pt")


def test_missing_truncated_foreign_and_future_checkpoints(tmp_path, tiny_config, tiny_networks):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
    _save(tmp_path / "model.pt", tiny_networks, tiny_config)
    data = (tmp_path / "model.pt").read_bytes()
    (tmp_path / "truncated.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "truncated.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not a PieNet Studio checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")
    payload = torch.load(tmp_path / "model.pt", weights_only=True)
    torch.save({**payload, "format_version": FORMAT_VERSION + 1}, tmp_path / "future.pt")
    with pytest.raises(CheckpointError, match="format version"):
        load_checkpoint(tmp_path / "future.pt")
    torch.save({**payload, "config": ModelConfig(embed_size=32, pienet_size=64, vector_dim=16).to_dict()},
               tmp_path / "inconsistent.pt")
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "inconsistent.pt")


def test_save_rejects_inconsistent_vectors(tmp_path, tiny_config, tiny_networks):
    with pytest.raises(ValueError, match="user_vectors"):
        save_checkpoint(tmp_path / "x.pt", *tiny_networks, tiny_config, NAMES, torch.zeros(3, 512))


def test_training_state_round_trip(tmp_path):
    parameter = torch.nn.Parameter(torch.ones(3))
    optimizer = torch.optim.Adam([parameter], lr=0.1)
    parameter.sum().backward()
    optimizer.step()
    save_training_state(tmp_path / "state.pt", optimizer, step=5, stage="pienet")
    expected_draw = torch.rand(3)
    fresh = torch.optim.Adam([torch.nn.Parameter(torch.ones(3))], lr=0.1)
    assert load_training_state(tmp_path / "state.pt", fresh, "pienet") == 5
    torch.testing.assert_close(torch.rand(3), expected_draw)
    torch.testing.assert_close(fresh.state_dict()["state"][0]["exp_avg"], optimizer.state_dict()["state"][0]["exp_avg"])
    with pytest.raises(CheckpointError, match="stage"):
        load_training_state(tmp_path / "state.pt", fresh, "embedding")


def test_pienet_standardization_round_trips_and_old_weights_load_as_identity(tmp_path, tiny_config, tiny_networks):
    embedding_net, pienet = tiny_networks
    pienet.set_vector_standardization(torch.randn(5, tiny_config.vector_dim))
    _save(tmp_path / "new.pt", (embedding_net, pienet), tiny_config)
    loaded = load_checkpoint(tmp_path / "new.pt").pienet
    torch.testing.assert_close(loaded.vector_center, pienet.vector_center)
    torch.testing.assert_close(loaded.vector_spread, pienet.vector_spread)

    payload = torch.load(tmp_path / "new.pt", weights_only=True)
    del payload["pienet"]["vector_center"], payload["pienet"]["vector_spread"]  # as saved before the buffers
    torch.save(payload, tmp_path / "old.pt")
    old = load_checkpoint(tmp_path / "old.pt").pienet
    assert float(old.vector_spread) == 1.0 and not old.vector_center.any()
