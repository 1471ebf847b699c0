"""Embedding network of Section 3.1: ResNet-18 → 512-d feature, L2-normalized."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ml.config import ModelConfig
from ml.models.backbone import ImageNetNormalize, resnet18


class EmbeddingNet(nn.Module):
    """Maps an RGB image in [0, 1] (N×3×H×W) to a unit-norm feature in the preference space.

    The paper feeds 256×256 images; callers resize with :func:`prepare_embedding_input`. Any size works because
    the trunk ends with global average pooling.
    """

    def __init__(self, config: ModelConfig, init: str = "random"):
        super().__init__()
        trunk = resnet18(init)
        self.normalize = ImageNetNormalize()
        self.trunk = nn.Sequential(
            trunk.conv1, trunk.bn1, trunk.relu, trunk.maxpool,
            trunk.layer1, trunk.layer2, trunk.layer3, trunk.layer4, trunk.avgpool,
        )
        width = trunk.fc.in_features
        self.projection = nn.Identity() if config.vector_dim == width else nn.Linear(width, config.vector_dim)
        self.input_size = config.embed_size

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        feature = self.projection(self.trunk(self.normalize(image)).flatten(1))
        return F.normalize(feature.float(), dim=1)


def prepare_embedding_input(images: torch.Tensor, size: int) -> torch.Tensor:
    """Resize a batch to size×size with antialiasing: the embedding judges the whole photo, so we squash
    rather than crop (the paper does not say how 256×256 inputs are made)."""
    if images.shape[-2:] == (size, size):
        return images
    return F.interpolate(images, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
