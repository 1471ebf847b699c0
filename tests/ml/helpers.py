"""Helpers the ML tests import (fixtures stay in conftest.py)."""

import torch

from ml.config import ModelConfig
from ml.models import PieNet


def active_pienet(config: ModelConfig, seed: int = 0) -> PieNet:
    """A PieNet whose output layer is not zero, so its delta depends on image and vector (eval mode)."""
    torch.manual_seed(seed)
    pienet = PieNet(config)
    torch.nn.init.normal_(pienet.to_delta.weight, std=0.05)
    torch.nn.init.normal_(pienet.to_delta.bias, std=0.05)
    return pienet.eval()
