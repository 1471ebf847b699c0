"""One-file checkpoints (both networks, configuration, training users and their vectors, format version) and
the separate training-state file used by ``--resume``.

Files are plain ``torch.save`` dictionaries of tensors, strings, numbers and lists, read back with
``torch.load(weights_only=True)``, so loading never unpickles arbitrary objects. Metadata is stored as a JSON
string for the same reason.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn

from ml.config import ConfigError, ModelConfig
from ml.models import EmbeddingNet, PieNet

FORMAT_NAME = "pienet-studio"
FORMAT_VERSION = 1
TRAINING_STATE_VERSION = 1


class CheckpointError(ValueError):
    """A file that is missing, not one of our checkpoints, from an unknown version, or inconsistent."""


@dataclass
class LoadedCheckpoint:
    embedding_net: EmbeddingNet
    pienet: PieNet | None
    config: ModelConfig
    styles: dict[str, torch.Tensor]
    metadata: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION


def _atomic_save(payload: dict, path: str | os.PathLike) -> None:
    """Write beside the destination and rename, so an interrupted save never leaves half a checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        torch.save(payload, temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _state_dict(module: nn.Module, half: bool) -> dict[str, torch.Tensor]:
    state = {}
    for name, tensor in module.state_dict().items():
        tensor = tensor.detach().cpu()
        state[name] = tensor.half() if half and tensor.is_floating_point() else tensor.clone()
    return state


def _unwrap(module: nn.Module) -> nn.Module:
    return getattr(module, "module", module)


def save_checkpoint(path, embedding_net: nn.Module, pienet: nn.Module | None, config: ModelConfig,
                    user_names: Sequence[str], user_vectors: torch.Tensor, metadata: dict | None = None,
                    half: bool = False) -> None:
    """Save the model. ``pienet`` may be None for a stage-1 (embedding only) checkpoint. ``half`` stores
    floating tensors as fp16 (the shipped model); they are loaded back as fp32."""
    user_vectors = torch.as_tensor(user_vectors).detach().cpu().float()
    if user_vectors.dim() != 2 or user_vectors.shape != (len(user_names), config.vector_dim):
        raise ValueError(f"user_vectors must be ({len(user_names)}, {config.vector_dim}), "
                         f"got {tuple(user_vectors.shape)}.")
    if len(set(user_names)) != len(user_names):
        raise ValueError("user_names must be unique.")
    payload = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "config": config.to_dict(),
        "embedding": _state_dict(_unwrap(embedding_net), half),
        "pienet": _state_dict(_unwrap(pienet), half) if pienet is not None else None,
        "user_names": [str(name) for name in user_names],
        "user_vectors": user_vectors.half() if half else user_vectors,
        "metadata": json.dumps(metadata or {}),
    }
    _atomic_save(payload, path)


def _read(path, map_location) -> dict:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"Checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise CheckpointError(f"{path} is not a PieNet Studio checkpoint (it is unreadable or holds objects "
                              "other than tensors and plain values, which are refused for safety).") from error
    except (zipfile.BadZipFile, RuntimeError, EOFError, OSError, ValueError, AttributeError, TypeError) as error:
        raise CheckpointError(f"{path} is damaged or not a checkpoint ({type(error).__name__}).") from error
    if not isinstance(payload, dict):
        raise CheckpointError(f"{path} is not a PieNet Studio checkpoint.")
    return payload


def _load_module(module: nn.Module, state: Any, what: str, path) -> nn.Module:
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: the {what} weights are missing.")
    try:
        module.load_state_dict({name: tensor.float() if tensor.is_floating_point() else tensor
                                for name, tensor in state.items()})
    except (RuntimeError, AttributeError) as error:
        raise CheckpointError(f"{path}: the {what} weights do not match its configuration ({error}).") from error
    return module.eval()


def _with_identity_standardization(state: Any, vector_dim: int) -> Any:
    """PieNet weights saved before its vector standardization existed were trained on raw vectors: identity."""
    if isinstance(state, dict) and "vector_center" not in state:
        state = {**state, "vector_center": torch.zeros(vector_dim), "vector_spread": torch.ones(())}
    return state


def load_checkpoint(path, map_location="cpu") -> LoadedCheckpoint:
    """Load a checkpoint written by :func:`save_checkpoint`; networks come back in eval mode, fp32."""
    payload = _read(path, map_location)
    if payload.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path} is not a PieNet Studio checkpoint.")
    version = payload.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"{path} has format version {version!r}; this code reads version {FORMAT_VERSION}.")
    try:
        config = ModelConfig.from_dict(payload["config"])
        names = list(payload["user_names"])
        vectors = payload["user_vectors"].float()
        metadata = json.loads(payload["metadata"])
    except (KeyError, TypeError, AttributeError, ConfigError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path} is damaged: {error}") from error
    if vectors.shape != (len(names), config.vector_dim):
        raise CheckpointError(f"{path}: {len(names)} user names but user vectors of shape {tuple(vectors.shape)}.")
    embedding_net = _load_module(EmbeddingNet(config).to(map_location), payload.get("embedding"), "embedding", path)
    pienet = None
    if payload.get("pienet") is not None:
        state = _with_identity_standardization(payload["pienet"], config.vector_dim)
        pienet = _load_module(PieNet(config).to(map_location), state, "PieNet", path)
    return LoadedCheckpoint(embedding_net=embedding_net, pienet=pienet, config=config,
                            styles=dict(zip(names, vectors)), metadata=metadata, format_version=version)


def file_sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_training_state(path, optimizer: torch.optim.Optimizer, step: int, stage: str,
                        tensors: dict[str, torch.Tensor] | None = None) -> None:
    """Optimizer moments, step counter and RNG states: everything besides the weights that ``--resume`` needs;
    ``tensors``: trained values the checkpoint does not keep (stage 1's vectors of every training user)."""
    payload = {
        "tensors": {name: tensor.detach().cpu().clone() for name, tensor in (tensors or {}).items()},
        "format": FORMAT_NAME + "-training-state",
        "version": TRAINING_STATE_VERSION,
        "stage": stage,
        "step": int(step),
        "optimizer": optimizer.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    _atomic_save(payload, path)


def training_state_tensors(path) -> dict[str, torch.Tensor]:
    """The ``tensors`` a training-state file was saved with."""
    return dict(_read(path, "cpu").get("tensors") or {})


def load_training_state(path, optimizer: torch.optim.Optimizer, stage: str) -> int:
    """Restore what :func:`save_training_state` wrote into ``optimizer`` and the RNGs; returns the step."""
    payload = _read(path, "cpu")
    if payload.get("format") != FORMAT_NAME + "-training-state" or payload.get("version") != TRAINING_STATE_VERSION:
        raise CheckpointError(f"{path} is not a training-state file of this version.")
    if payload.get("stage") != stage:
        raise CheckpointError(f"{path} belongs to the {payload.get('stage')!r} stage, not {stage!r}.")
    try:
        optimizer.load_state_dict(payload["optimizer"])
    except (ValueError, KeyError) as error:
        raise CheckpointError(f"{path}: optimizer state does not match the model ({error}).") from error
    torch.set_rng_state(payload["torch_rng"])
    if payload["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(payload["cuda_rng"])
    return int(payload["step"])


USER_EMBEDDINGS_FORMAT = FORMAT_NAME + "-user-embeddings"


def save_user_embeddings(path, user_names: Sequence[str], embeddings: torch.Tensor) -> None:
    """Stage 1's pools: (users, images, D) embeddings, stored fp16, for stage 2's subset-mean vectors."""
    embeddings = torch.as_tensor(embeddings).detach().cpu()
    if embeddings.dim() != 3 or embeddings.shape[0] != len(user_names):
        raise ValueError(f"embeddings must be ({len(user_names)}, N, D), got {tuple(embeddings.shape)}.")
    _atomic_save({"format": USER_EMBEDDINGS_FORMAT, "version": 1, "user_names": list(map(str, user_names)),
                  "embeddings": embeddings.half()}, path)


def load_user_embeddings(path) -> tuple[list[str], torch.Tensor]:
    payload = _read(path, "cpu")
    if payload.get("format") != USER_EMBEDDINGS_FORMAT:
        raise CheckpointError(f"{path} is not a user-embeddings file of stage 1.")
    names, embeddings = list(payload["user_names"]), payload["embeddings"].float()
    if embeddings.dim() != 3 or embeddings.shape[0] != len(names):
        raise CheckpointError(f"{path} is inconsistent: {len(names)} names, embeddings {tuple(embeddings.shape)}.")
    return names, embeddings
