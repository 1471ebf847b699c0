"""Per-image scores by (system, user), batched over the outputs of one photo, and their per-user means.

The metrics themselves are :mod:`ml.metrics`; as there, mPSNR/mSSIM/mΔE average each user's mean over photos.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Sequence

import numpy as np
import torch

from ml.metrics import delta_e, psnr, ssim

METRICS = {"psnr": psnr, "ssim": ssim, "delta_e": delta_e}
ALL_METRICS = ("psnr", "ssim", "delta_e")
SWEEP_METRICS = ("psnr",)  # Fig. 6 plots mPSNR; SSIM and ΔE would multiply the cost of the sweep


def to_tensor(image: np.ndarray, device) -> torch.Tensor:
    """H×W×3 float image → (3, H, W) tensor on ``device``."""
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).to(device)


class ScoreBoard:
    def __init__(self, chunk: int = 8):
        self.chunk = chunk
        self._scores: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))

    def score(self, entries: Sequence[tuple[str, str, torch.Tensor, torch.Tensor, tuple[str, ...]]]) -> None:
        """``entries``: (system, user, prediction, target, metric names); same-size images, scored in batches
        of ``chunk`` for each set of metric names."""
        for names in dict.fromkeys(entry[4] for entry in entries):
            group = [entry for entry in entries if entry[4] == names]
            for start in range(0, len(group), self.chunk):
                part = group[start:start + self.chunk]
                predictions = torch.stack([entry[2] for entry in part])
                targets = torch.stack([entry[3] for entry in part])
                for name in names:
                    for entry, value in zip(part, METRICS[name](predictions, targets).tolist()):
                        self._scores[entry[0], entry[1]][name].append(value)

    def systems(self) -> list[str]:
        return list(dict.fromkeys(system for system, _ in self._scores))

    def summary(self, system: str, users: Iterable[str]) -> dict | None:
        """Per-user means and their means (``mpsnr`` …) over the given users that have scores; None if none."""
        per_user = {}
        for user in users:
            scores = self._scores.get((system, user))
            if scores:
                per_user[user] = {name: float(np.mean(values)) for name, values in scores.items()}
                per_user[user]["images"] = len(next(iter(scores.values())))
        if not per_user:
            return None
        names = [name for name in ALL_METRICS if all(name in entry for entry in per_user.values())]
        return {"users": per_user, **{f"m{name}": float(np.mean([entry[name] for entry in per_user.values()]))
                                      for name in names}}
