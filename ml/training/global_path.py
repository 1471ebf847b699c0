"""A closed-form start for PieNet's global colour path (v2, our addition).

The affine head's ``vector_to_matrix`` maps a preference vector to one 3×4 colour matrix added to every pixel's.
Trained by gradient from zero it is the slowest part of PieNet to learn: each step shows it 8 of 328 users, and
after 2,000 steps the monochrome looks were still in colour (chroma 7.0 against the input's 9.7). Both halves of
that mapping have closed forms, so stage 2 starts from them:

1. each training user's own global look: the 3×4 matrix that best maps stage-2 inputs to that user's retouches,
   by least squares over the pixels of a few dozen crops;
2. the linear map from vectors (renormalised subset means, made as in training) to those matrices, by ridge
   regression whose strength is chosen by cross-validation over users, so that it carries over to new users
   instead of memorising a few hundred points in 512 dimensions.

Stage 2 then refines the path and teaches the PUBs the local, content-dependent rest of each look.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

# Side of the crops a user's global look is fitted on: a global transform needs colours, not detail.
FIT_SIZE = 64
# Ridge strengths tried, relative to the mean squared norm of the centred vectors.
RIDGES = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0)
# Pulls a user's matrix towards the identity where its photos do not pin it down (e.g. a channel that is ~0 in
# every crop of a very dark input), relative to the pixels' own second moment.
IDENTITY_PULL = 1e-3


@dataclass(frozen=True)
class GlobalPathFit:
    """The fitted layer and how well it predicts the matrices of users it was not fitted on (RMS over the 12
    coefficients), beside the errors of the zero path stage 2 would otherwise start from and of one shared
    matrix for everyone (what the vector adds is the gap between that and ``held_out_rms``)."""

    weight: torch.Tensor
    bias: torch.Tensor
    ridge: float
    held_out_rms: float
    zero_rms: float
    shared_rms: float

    def summary(self) -> dict[str, float]:
        return {"ridge": self.ridge, **{name: round(getattr(self, name), 4)
                                        for name in ("held_out_rms", "zero_rms", "shared_rms")}}


def colour_coefficients(inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The affine head's 12 coefficients (A − 1 row-major, then b; see ``ml.models.pienet.affine_delta``) of the
    global transform target ≈ A·input + b that fits every pixel of the N×3×H×W pairs best in least squares."""
    pixels = inputs.float().permute(0, 2, 3, 1).reshape(-1, 3)
    wanted = targets.float().permute(0, 2, 3, 1).reshape(-1, 3)
    design = torch.cat([pixels, torch.ones(len(pixels), 1)], dim=1).double()
    gram = design.T @ design
    pull = torch.zeros(4, 4, dtype=torch.float64)  # ridge on the matrix towards 1, none on the offset
    pull[:3, :3] = IDENTITY_PULL * gram.diagonal()[:3].mean() * torch.eye(3, dtype=torch.float64)
    solution = torch.linalg.solve(gram + pull, design.T @ wanted.double() + pull[:, :3])
    matrix = solution[:3].T - torch.eye(3).double()
    return torch.cat([matrix.flatten(), solution[3]]).float()


def _ridge(vectors: torch.Tensor, coefficients: torch.Tensor, strength: float) -> tuple[torch.Tensor, torch.Tensor]:
    mean_vector, mean_coefficients = vectors.mean(dim=0), coefficients.mean(dim=0)
    centred = vectors - mean_vector
    scale = centred.pow(2).sum(dim=1).mean()
    gram = centred.T @ centred + strength * scale * len(vectors) * torch.eye(vectors.shape[1], dtype=vectors.dtype)
    weight = torch.linalg.solve(gram, centred.T @ (coefficients - mean_coefficients))
    return weight.T, mean_coefficients - mean_vector @ weight


def _rms(error: torch.Tensor) -> float:
    return float(error.pow(2).mean().sqrt())


def fit_linear_path(vectors: torch.Tensor, coefficients: torch.Tensor, users: torch.Tensor, folds: int = 5,
                    seed: int = 0) -> GlobalPathFit:
    """Ridge regression from ``vectors`` (S×D, already standardized as PieNet's forward does) to ``coefficients``
    (S×12); ``users`` (S) says whose each row is, and the folds hold out whole users."""
    vectors, coefficients = vectors.double(), coefficients.double()
    distinct = users.unique()
    folds = min(folds, len(distinct))
    if folds < 2:
        raise ValueError(f"fitting the global path needs at least 2 users, got {len(distinct)}.")
    order = distinct[torch.randperm(len(distinct), generator=torch.Generator().manual_seed(seed))]
    fold_of_user = {int(user): index % folds for index, user in enumerate(order)}
    fold = torch.tensor([fold_of_user[int(user)] for user in users])
    errors = {}
    for strength in RIDGES:
        squared = []
        for held_out in range(folds):
            train, test = fold != held_out, fold == held_out
            weight, bias = _ridge(vectors[train], coefficients[train], strength)
            squared.append(coefficients[test] - (vectors[test] @ weight.T + bias))
        errors[strength] = _rms(torch.cat(squared))
    best = min(errors, key=errors.get)
    weight, bias = _ridge(vectors, coefficients, best)
    return GlobalPathFit(weight.float(), bias.float(), best, errors[best], _rms(coefficients),
                         _rms(coefficients - coefficients.mean(dim=0)))
