"""ResNet-18 trunks shared by both networks, and the ImageNet input normalization they expect."""

from __future__ import annotations

import socket

import torch
import torchvision
from torch import nn

INIT_CHOICES = ("random", "imagenet")
_DOWNLOAD_TIMEOUT_S = 20.0


class ModelInitError(RuntimeError):
    """Pretrained weights were asked for but cannot be obtained (no cache and no network)."""


def resnet18(init: str = "random") -> torchvision.models.ResNet:
    """A torchvision ResNet-18, randomly initialised or with ImageNet weights.

    ``imagenet`` goes through torchvision's weights API, which looks in the torch hub cache
    (``$TORCH_HOME/hub/checkpoints``) before downloading. A failure is reported, never replaced by a random
    network behind the user's back. The download gets a socket timeout so an unreachable host cannot hang.
    """
    if init == "random":
        return torchvision.models.resnet18(weights=None)
    if init != "imagenet":
        raise ValueError(f"Unknown init {init!r}; choose one of {', '.join(INIT_CHOICES)}.")
    weights = torchvision.models.ResNet18_Weights.IMAGENET1K_V1
    previous_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(_DOWNLOAD_TIMEOUT_S)
    try:
        return torchvision.models.resnet18(weights=weights)
    except (OSError, RuntimeError, ValueError) as error:
        cache = f"{torch.hub.get_dir()}/checkpoints/{weights.url.rsplit('/', 1)[-1]}"
        raise ModelInitError(
            f"ImageNet weights for ResNet-18 could not be obtained ({error}). Put the file at {cache} "
            "(or set TORCH_HOME) or train with --init random."
        ) from error
    finally:
        socket.setdefaulttimeout(previous_timeout)


class ImageNetNormalize(nn.Module):
    """Maps [0, 1] RGB to the statistics ResNet expects, so callers always pass plain images."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), persistent=False)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return (image - self.mean) / self.std
