"""Preference vectors for new users (Section 3.4), blending, and a consistency score for a user's picks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F

from ml.losses import triplet_loss


class PersonalizationError(ValueError):
    """Inputs from which no preference vector can be made (e.g. no images, mismatched dimensions)."""


def _as_matrix(embeddings, what: str) -> torch.Tensor:
    matrix = torch.as_tensor(embeddings, dtype=torch.float32)
    if matrix.dim() != 2 or matrix.shape[0] == 0:
        raise PersonalizationError(f"{what} must be a non-empty (N, D) matrix, got shape {tuple(matrix.shape)}.")
    return matrix.detach()


def mean_vector(embeddings) -> torch.Tensor:
    """Scheme 2 (the default): the average of the preferred images' embeddings, renormalised to unit length.

    The paper averages without normalizing. We renormalise because PieNet v2 is trained on renormalised means of
    1 … 64 of a user's embeddings (``ml.training.pienet``): an unnormalised mean's length depends on how much the
    picks disagree, which would tell PieNet something the picks' style does not.
    """
    return F.normalize(_as_matrix(embeddings, "embeddings").mean(dim=0), dim=0)


def optimize_vector(positive_embeddings, negative_embeddings, margin: float = 0.2, steps: int = 200,
                    learning_rate: float = 0.01, initial=None) -> torch.Tensor:
    """Scheme 1: minimize the triplet loss (eq. 1) over all (positive, negative) pairs with respect to the
    vector only — gradient (4) — while the embeddings stay fixed.

    The paper does not say how the new vector starts; we start from the positives' mean (scheme 2), so the
    optimization only has to push away from the negatives, and use Adam for ``steps`` full-batch steps. After
    every step the vector is put back on the unit sphere: unconstrained, its norm grew to 2–4.6 in v1, far
    outside the vectors PieNet was trained on (norm ≈ 1). Negatives work best when they show the same photos as
    the positives in other looks, so that only the style tells them apart (see ``ml.evaluation``).
    """
    positives = _as_matrix(positive_embeddings, "positive embeddings")
    negatives = _as_matrix(negative_embeddings, "negative embeddings")
    if positives.shape[1] != negatives.shape[1]:
        raise PersonalizationError("positive and negative embeddings have different dimensions.")
    start = mean_vector(positives) if initial is None else torch.as_tensor(initial, dtype=torch.float32)
    vector = F.normalize(start.detach().clone(), dim=0).requires_grad_(True)
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
            with torch.no_grad():
                vector.copy_(F.normalize(vector, dim=0))
    return vector.detach()


def blend(vectors: Sequence, weights: Sequence[float]) -> torch.Tensor:
    """Convex combination Σ w_i v_i with the weights normalized to sum to one (they must be ≥ 0), renormalised
    to unit length like every vector PieNet is trained on."""
    matrix = torch.stack([torch.as_tensor(vector, dtype=torch.float32) for vector in vectors]) if len(vectors) else None
    if matrix is None:
        raise PersonalizationError("blend needs at least one vector.")
    weights = torch.as_tensor(weights, dtype=torch.float32)
    if weights.shape != (len(matrix),):
        raise PersonalizationError(f"blend got {len(matrix)} vectors but {weights.numel()} weights.")
    if (weights < 0).any() or not torch.isfinite(weights).all() or weights.sum() <= 0:
        raise PersonalizationError("blend weights must be finite, non-negative and not all zero.")
    return F.normalize((weights / weights.sum()) @ matrix, dim=0)


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
