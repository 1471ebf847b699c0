"""PieNet (Section 3.2, Fig. 4): a ResNet-18 encoder and a decoder of personalized up-sample blocks."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.resnet import BasicBlock

from ml.config import ModelConfig
from ml.models.backbone import ImageNetNormalize, resnet18


AFFINE_CHANNELS = 12


def affine_delta(coefficients: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """ΔI of the "affine" head: per pixel, channels 0–8 are A − 1 (row-major 3×3) and 9–11 are b, so
    I + ΔI = A·I + b. Zero coefficients are the identity (the head starts at zero, like the pixel head)."""
    coefficients = coefficients.float()
    image = image.float()
    matrix = coefficients[:, :9].unflatten(1, (3, 3))
    return (matrix * image[:, None]).sum(dim=2) + coefficients[:, 9:]


def _upsample(tensor: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tensor.shape[-2:] == size:
        return tensor
    return F.interpolate(tensor, size=size, mode="bilinear", align_corners=False)


class PersonalizedUpsampleBlock(nn.Module):
    """PUB: brings the preference vector and the previous output to the encoder feature's size, concatenates
    the three and applies a residual block.

    The paper says "convolution and up-sampling" without details. Our choice: the vector goes through a 1×1
    convolution (a linear layer, as it is 1×1 spatially) and is broadcast over the feature map; the previous
    output goes through a 1×1 convolution to the feature's width *before* bilinear up-sampling (cheaper than
    the other order, same function class). The residual block is torchvision's BasicBlock with a 1×1
    projection shortcut because the concatenation is wider than the output.
    """

    def __init__(self, vector_dim: int, preference_channels: int, previous_channels: int,
                 feature_channels: int, out_channels: int):
        super().__init__()
        self.project_vector = nn.Linear(vector_dim, preference_channels)
        self.project_previous = nn.Conv2d(previous_channels, feature_channels, kernel_size=1)
        joined = preference_channels + 2 * feature_channels
        shortcut = nn.Sequential(nn.Conv2d(joined, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels))
        self.residual = BasicBlock(joined, out_channels, downsample=shortcut)

    def forward(self, vector: torch.Tensor, previous: torch.Tensor, feature: torch.Tensor) -> torch.Tensor:
        size = tuple(feature.shape[-2:])
        previous = _upsample(self.project_previous(previous), size)
        preference = self.project_vector(vector.to(feature.dtype))[:, :, None, None]
        preference = preference.expand(-1, -1, *size)
        return self.residual(torch.cat([preference, previous, feature], dim=1))


class PieNet(nn.Module):
    """Predicts the delta image ΔI for an RGB image in [0, 1] and a preference vector; I~ = I + ΔI (eq. 5).

    Encoder features (Fig. 4): conv1 (H/2, 64 ch), after residual blocks 2, 4, 6 (= ResNet layers 1–3: H/4,
    H/8, H/16) and the global average pool after block 8. Three PUBs decode from the pooled feature through the
    block-6, block-4 and block-2 features; the last PUB's output is up-sampled to conv1's size, concatenated
    with it, up-sampled to the input size, and a final 3×3 convolution yields ΔI. That convolution starts at
    zero (our choice) so an untrained PieNet is the identity and training starts from the input image.
    ``forward`` returns ΔI, not the enhanced image, because the loss (eq. 7) needs the delta itself.

    Affine head (v2, ``config.head``): the last convolution predicts a 3×4 colour matrix per pixel instead of
    ΔI. The paper's ΔI is computed at the network's size and up-sampled, so at full resolution it can only add a
    blurred correction: a monochrome look would leave the colour of every edge, and the network has to rebuild
    each pixel's colour from its features to recolour it at all. A matrix map
    is smooth wherever the look is a colour or tone transform, up-samples without loss, and is applied to the
    full-resolution pixels (HDRNet's idea, without its bilateral grid).

    Global colour path (v2, with the affine head): the vector also passes through one linear layer straight to a
    3×4 matrix added to every pixel's. Most of a taste is a global colour and tone transform (a monochrome mix, a
    toning, a white balance), and through the PUBs the vector reaches the matrices only after three residual
    blocks of content features: a PieNet trained that way moved tone with the vector but kept the input's colour
    for the monochrome looks. The linear path makes a look's global part one matrix per vector; the PUBs are left
    the local, content-dependent part. It starts at zero, like the head.

    Vector standardization (our addition): the paper's f_k are free unit vectors, about orthogonal to each other.
    v2 conditions on mean embeddings, which share a large common part (pairwise cosine 0.92 on average; what
    tells users apart is about a quarter of the norm), so the PUBs would see the users' differences as small
    wiggles on a constant, and a PieNet trained on them gave every style the same look. ``forward`` therefore
    centres each vector on the training users' mean and divides by their spread (buffers saved with the
    weights, set once from the users' vectors by :meth:`set_vector_standardization`); the identity until then,
    and for checkpoints from before it.
    """

    def __init__(self, config: ModelConfig, init: str = "random"):
        super().__init__()
        trunk = resnet18(init)
        self.normalize = ImageNetNormalize()
        self.conv1 = nn.Sequential(trunk.conv1, trunk.bn1, trunk.relu)
        self.maxpool = trunk.maxpool
        self.blocks_1_2, self.blocks_3_4 = trunk.layer1, trunk.layer2
        self.blocks_5_6, self.blocks_7_8 = trunk.layer3, trunk.layer4
        self.global_pool = trunk.avgpool
        wide, middle, narrow = config.decoder_channels
        vector, pref = config.vector_dim, config.preference_channels
        self.pub_block6 = PersonalizedUpsampleBlock(vector, pref, 512, 256, wide)
        self.pub_block4 = PersonalizedUpsampleBlock(vector, pref, wide, 128, middle)
        self.pub_block2 = PersonalizedUpsampleBlock(vector, pref, middle, 64, narrow)
        self.head = config.head
        self.to_delta = nn.Conv2d(narrow + 64, AFFINE_CHANNELS if self.head == "affine" else 3, 3, padding=1)
        nn.init.zeros_(self.to_delta.weight)
        nn.init.zeros_(self.to_delta.bias)
        self.vector_to_matrix = nn.Linear(vector, AFFINE_CHANNELS) if self.head == "affine" else None
        if self.vector_to_matrix is not None:
            nn.init.zeros_(self.vector_to_matrix.weight)
            nn.init.zeros_(self.vector_to_matrix.bias)
        self.register_buffer("vector_center", torch.zeros(vector))
        self.register_buffer("vector_spread", torch.ones(()))

    @torch.no_grad()
    def set_vector_standardization(self, vectors: torch.Tensor) -> None:
        """Centre on the mean of ``vectors`` (one per training user) and scale by their RMS distance from it, so
        the users' vectors reach the PUBs spread around 0 with norm about 1, like the paper's f_k."""
        center = vectors.float().mean(dim=0)
        spread = (vectors.float() - center).norm(dim=1).pow(2).mean().sqrt().clamp_min(1e-6)
        self.vector_center.copy_(center)
        self.vector_spread.fill_(spread)

    def standardize(self, vector: torch.Tensor) -> torch.Tensor:
        return (vector.float() - self.vector_center) / self.vector_spread

    def copy_encoder_from(self, embedding_net: nn.Module) -> None:
        """Start the encoder from the trained embedding trunk (conv1 … block 8 are the same ResNet-18 layers):
        the closest substitute for ImageNet weights, which cannot be had here, and already tuned to the colour
        and tone differences PieNet has to see."""
        conv1, bn1, _, _, layer1, layer2, layer3, layer4, _ = embedding_net.trunk
        pairs = ((self.conv1[0], conv1), (self.conv1[1], bn1), (self.blocks_1_2, layer1), (self.blocks_3_4, layer2),
                 (self.blocks_5_6, layer3), (self.blocks_7_8, layer4))
        for mine, theirs in pairs:
            mine.load_state_dict(theirs.state_dict())

    def forward(self, image: torch.Tensor, vector: torch.Tensor) -> torch.Tensor:
        """ΔI at the image's resolution, whatever the head."""
        output = self.head_output(image, vector)
        return affine_delta(output, image) if self.head == "affine" else output

    def head_output(self, image: torch.Tensor, vector: torch.Tensor) -> torch.Tensor:
        """What the last convolution predicts at the image's resolution: ΔI ("pixel") or the colour-matrix map
        ("affine", see :func:`affine_delta`), which the enhancer up-samples before applying it."""
        if vector.dim() == 1:
            vector = vector.unsqueeze(0).expand(image.shape[0], -1)
        vector = self.standardize(vector)
        conv1 = self.conv1(self.normalize(image))
        block2 = self.blocks_1_2(self.maxpool(conv1))
        block4 = self.blocks_3_4(block2)
        block6 = self.blocks_5_6(block4)
        pooled = self.global_pool(self.blocks_7_8(block6))
        decoded = self.pub_block6(vector, pooled, block6)
        decoded = self.pub_block4(vector, decoded, block4)
        decoded = self.pub_block2(vector, decoded, block2)
        joined = torch.cat([_upsample(decoded, tuple(conv1.shape[-2:])), conv1], dim=1)
        output = self.to_delta(_upsample(joined, tuple(image.shape[-2:]))).float()
        if self.vector_to_matrix is None:
            return output
        return output + self.vector_to_matrix(vector.to(output.dtype))[:, :, None, None]
