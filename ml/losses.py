"""Losses of the paper: the triplet loss (eq. 1) and PieNet's training loss (eqs. 6–7)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ml.models.embedding import EmbeddingNet, prepare_embedding_input


def squared_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """D(·,·) of eq. (1): squared Euclidean distance along the last dimension."""
    return (a - b).pow(2).sum(dim=-1)


def triplet_loss(preference: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor,
                 margin: float = 0.2) -> torch.Tensor:
    """Eq. (1), per triplet: [D(f_k, f_p) − D(f_k, f_n) + α]_+. Its autograd gradients are eqs. (2)–(4)."""
    return F.relu(squared_distance(preference, positive) - squared_distance(preference, negative) + margin)


def edge_aware_total_variation(image: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """Eq. (7): ‖W_x ⊗ ∇_x ΔI‖₁ + ‖W_y ⊗ ∇_y ΔI‖₁ with W = exp(−|∇I|) of the input, per channel.

    ∇ is the forward difference; each ‖·‖₁ is averaged over its elements (the paper writes norms; a mean keeps
    λ_t independent of the image size, as for the colour loss).
    """
    image = image.detach()
    weight_x = torch.exp(-(image[..., :, 1:] - image[..., :, :-1]).abs())
    weight_y = torch.exp(-(image[..., 1:, :] - image[..., :-1, :]).abs())
    grad_x = (delta[..., :, 1:] - delta[..., :, :-1]).abs()
    grad_y = (delta[..., 1:, :] - delta[..., :-1, :]).abs()
    return (weight_x * grad_x).mean() + (weight_y * grad_y).mean()


@dataclass
class PieNetLoss:
    """Eq. (6): L_c + λ_p·L_p + λ_t·L_t, with the frozen embedding network giving L_p's features."""

    embedding_net: EmbeddingNet
    lambda_perceptual: float = 0.4
    lambda_tv: float = 0.01

    def __call__(self, image: torch.Tensor, delta: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """Returns the total under ``"loss"`` and each term under its own name (for logging)."""
        enhanced = image + delta
        colour = (enhanced - target).abs().mean()
        size = self.embedding_net.input_size
        with torch.no_grad():
            target_feature = self.embedding_net(prepare_embedding_input(target, size))
        enhanced_feature = self.embedding_net(prepare_embedding_input(enhanced, size))
        perceptual = (enhanced_feature - target_feature).abs().mean()
        smoothness = edge_aware_total_variation(image, delta)
        total = colour + self.lambda_perceptual * perceptual + self.lambda_tv * smoothness
        return {"loss": total, "colour": colour, "perceptual": perceptual, "tv": smoothness}
