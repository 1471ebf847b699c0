"""Preference vectors for new users (Section 3.4), blending, and a consistency score for a user's picks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import torch

from ml.losses import triplet_loss


class PersonalizationError(ValueError):
    """Inputs from which no preference vector can be made (e.g. no images, mismatched dimensions)."""


def _as_matrix(embeddings, what: str) -> torch.Tensor:
    matrix = torch.as_tensor(embeddings, dtype=torch.float32)
    if matrix.dim() != 2 or matrix.shape[0] == 0:
        raise PersonalizationError(f"{what} must be a non-empty (N, D) matrix, got shape {tuple(matrix.shape)}.")
    return matrix.detach()


def mean_vector(embeddings) -> torch.Tensor:
    """Scheme 2 (the default): the average of the preferred images' embeddings.

    The mean is not re-normalized: trained preference vectors are free parameters that settle near the mean of
    their positives, inside the unit sphere, and the paper averages without normalizing.
    """
    return _as_matrix(embeddings, "embeddings").mean(dim=0)


def optimize_vector(positive_embeddings, negative_embeddings, margin: float = 0.2, steps: int = 200,
                    learning_rate: float = 0.01, initial=None) -> torch.Tensor:
    """Scheme 1: minimize the triplet loss (eq. 1) over all (positive, negative) pairs with respect to the
    vector only — gradient (4) — while the embeddings stay fixed.

    The paper does not say how the new vector starts; we start from the positives' mean (scheme 2), so the
    optimization only has to push away from the negatives, and use Adam for ``steps`` full-batch steps.
    """
    positives = _as_matrix(positive_embeddings, "positive embeddings")
    negatives = _as_matrix(negative_embeddings, "negative embeddings")
    if positives.shape[1] != negatives.shape[1]:
        raise PersonalizationError("positive and negative embeddings have different dimensions.")
    start = positives.mean(dim=0) if initial is None else torch.as_tensor(initial, dtype=torch.float32)
    vector = start.detach().clone().requires_grad_(True)
    optimizer = torch.optim.Adam([vector], lr=learning_rate)
    # (N, 1, D) against (1, M, D): all N·M pairs by broadcasting, without materializing N·M·D copies.
    positive_pairs, negative_pairs = positives.unsqueeze(1), negatives.unsqueeze(0)
    with torch.enable_grad():
        for _ in range(steps):
            optimizer.zero_grad()
            loss = triplet_loss(vector, positive_pairs, negative_pairs, margin).mean()
            if loss.item() == 0.0:
                break
            loss.backward()
            optimizer.step()
    return vector.detach()


def blend(vectors: Sequence, weights: Sequence[float]) -> torch.Tensor:
    """Convex combination Σ w_i v_i with the weights normalized to sum to one (they must be ≥ 0)."""
    matrix = torch.stack([torch.as_tensor(vector, dtype=torch.float32) for vector in vectors]) if len(vectors) else None
    if matrix is None:
        raise PersonalizationError("blend needs at least one vector.")
    weights = torch.as_tensor(weights, dtype=torch.float32)
    if weights.shape != (len(matrix),):
        raise PersonalizationError(f"blend got {len(matrix)} vectors but {weights.numel()} weights.")
    if (weights < 0).any() or not torch.isfinite(weights).all() or weights.sum() <= 0:
        raise PersonalizationError("blend weights must be finite, non-negative and not all zero.")
    return (weights / weights.sum()) @ matrix


def consistency(embeddings) -> float:
    """Mean cosine similarity of the picks to their mean: near 1 when the picks share one style."""
    matrix = _as_matrix(embeddings, "embeddings")
    centre = matrix.mean(dim=0, keepdim=True)
    return float(torch.nn.functional.cosine_similarity(matrix, centre, dim=1).mean())


VECTOR_FILE_FORMAT = "pienet-studio-vector"


def save_vector_file(path, vector: torch.Tensor, **details) -> None:
    """Write a preference vector as JSON (readable, and safe to load from anyone)."""
    values = [float(value) for value in torch.as_tensor(vector).reshape(-1)]
    payload = {"format": VECTOR_FILE_FORMAT, "version": 1, "dim": len(values), "vector": values, **details}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(payload, indent=1))


def load_vector_file(path) -> torch.Tensor:
    try:
        payload = json.loads(Path(path).read_text())
        if payload.get("format") != VECTOR_FILE_FORMAT:
            raise ValueError("not a preference-vector file")
        vector = torch.tensor(payload["vector"], dtype=torch.float32)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise PersonalizationError(f"{path} is not a readable preference-vector file ({error}).") from error
    if vector.dim() != 1 or vector.numel() != payload.get("dim") or not torch.isfinite(vector).all():
        raise PersonalizationError(f"{path} holds an inconsistent vector.")
    return vector
